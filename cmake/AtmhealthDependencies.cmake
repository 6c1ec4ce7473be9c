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
# Time zones for business hours (libhowardhinnant-date-dev; g++ 12 has no
# std::chrono::tzdb).
find_package(date CONFIG REQUIRED)
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
