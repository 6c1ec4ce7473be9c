# Every dependency is a Debian 12 package; scripts/install-deps.sh installs them.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(Protobuf REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(tomlplusplus 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
# Civil dates and weekdays (libhowardhinnant-date-dev's header-only date.h;
# g++ 12 has no std::chrono calendar of C++20).
find_package(date CONFIG REQUIRED)
# Time zones of business hours and the surge baseline: abseil's cctz
# (libabsl-dev; g++ 12 has no std::chrono::tzdb), platform/time_zone.h.
find_package(absl CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(pugixml CONFIG REQUIRED)
# atmhealthctl export writes its bundle as a .tar.gz (libarchive-dev).
find_package(LibArchive 3 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
# The collector's PostgreSQL store (libpqxx-dev).
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
if(ATMHEALTH_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(ATMHEALTH_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

# Libraries atmhealthd links statically (cmake/AgentFootprint.cmake). The
# agent is the only program on an ATM that maps most of them, so a shared
# copy costs it every page it touches, spread over the whole library, and
# every page the loader reads to relocate it (OpenSSL: 1.7 MiB of an idle
# agent); the archive brings only the objects it uses, --gc-sections drops
# the rest, and agent/hot_code.ld packs what runs (BENCHMARKS.md §5). The
# price of OpenSSL and SQLite in the binary: a security update of either
# reaches the agent only when it is rebuilt, and `atmhealthd --version`
# names the versions it carries (README, "Security updates"). Project
# libraries link these names; a program with the target property
# ATMHEALTH_STATIC_DEPS set (atmhealthd) gets the archive, every other one
# the shared library, so nothing else changes.
function(atmhealth_static_choice name shared archive)
  find_library(ATMHEALTH_STATIC_${name} NAMES ${archive} REQUIRED)
  add_library(${name} INTERFACE)
  target_link_libraries(${name} INTERFACE
    "$<IF:$<BOOL:$<TARGET_PROPERTY:ATMHEALTH_STATIC_DEPS>>,${ATMHEALTH_STATIC_${name}};${ARGN},${shared}>")
endfunction()
# protobuf's lite runtime only (the .proto files say optimize_for = LITE_RUNTIME):
# nothing in the project uses descriptors, reflection or text format.
atmhealth_static_choice(atmhealth_dep_protobuf_lite protobuf::libprotobuf-lite
  libprotobuf-lite.a Threads::Threads)
# abseil's time zones: atmhealthd links the archives (libabsl-dev ships them
# with the shared libraries) of absl::time and what it needs, in link order.
set(atmhealth_absl_time_parts)
foreach(part civil_time time_zone strings strings_internal int128 throw_delegate base
    spinlock_wait raw_logging_internal log_severity)
  find_library(ATMHEALTH_STATIC_absl_${part} NAMES libabsl_${part}.a REQUIRED)
  list(APPEND atmhealth_absl_time_parts ${ATMHEALTH_STATIC_absl_${part}})
endforeach()
atmhealth_static_choice(atmhealth_dep_absl_time absl::time libabsl_time.a
  ${atmhealth_absl_time_parts} Threads::Threads)
# pugixml (crm_mon's XML): atmhealthd links libpugixml.a.
atmhealth_static_choice(atmhealth_dep_pugixml pugixml::pugixml libpugixml.a)
# OpenSSL (TLS to the collector) and SQLite (the event buffer).
find_library(ATMHEALTH_STATIC_libcrypto NAMES libcrypto.a REQUIRED)
atmhealth_static_choice(atmhealth_dep_openssl "OpenSSL::SSL;OpenSSL::Crypto" libssl.a
  ${ATMHEALTH_STATIC_libcrypto} Threads::Threads)
atmhealth_static_choice(atmhealth_dep_sqlite SQLite::SQLite3 libsqlite3.a m Threads::Threads)
