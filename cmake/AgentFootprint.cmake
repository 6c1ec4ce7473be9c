# How atmhealthd is linked to stay small on an ATM (BENCHMARKS.md §5):
# protobuf's lite runtime, abseil's time zones, pugixml, OpenSSL and SQLite
# from their static archives (cmake/AtmhealthDependencies.cmake says what
# that costs), spdlog, {fmt} and toml++ compiled in from their headers
# (agent/static_libraries/), so that no shared C++ library is left and the
# C++ runtime (libstdc++, libgcc) is linked statically too; sections nothing
# calls dropped, no library linked that nothing uses, relative relocations
# packed (DT_RELR), the code that runs packed together. Only the C library
# and libm stay shared. Included after agent/ defines the target.
set_target_properties(atmhealthd PROPERTIES ATMHEALTH_STATIC_DEPS ON)
target_link_options(atmhealthd PRIVATE LINKER:--gc-sections LINKER:--as-needed
  LINKER:-z,pack-relative-relocs LINKER:-O1)

# The project's libraries in atmhealthd: a section per function and object,
# so that --gc-sections drops what the agent never calls of the code it
# shares with the collector and atmhealthctl (their links keep every section).
foreach(library atmhealth_agent atmhealth_platform atmhealth_proto atmhealth_proto_gen)
  target_compile_options(${library} PRIVATE -ffunction-sections -fdata-sections)
endforeach()

# The sanitizers' runtimes replace parts of the C++ runtime: that build links
# everything shared, as every other program does.
if(NOT ATMHEALTH_SANITIZE)
  add_library(atmhealthd_static_libraries OBJECT
    ${PROJECT_SOURCE_DIR}/agent/static_libraries/spdlog.cc
    ${PROJECT_SOURCE_DIR}/agent/static_libraries/fmt.cc
    ${PROJECT_SOURCE_DIR}/agent/static_libraries/tomlplusplus.cc)
  target_compile_features(atmhealthd_static_libraries PRIVATE cxx_std_20)
  # A section per function and object: --gc-sections keeps what is called.
  target_compile_options(atmhealthd_static_libraries PRIVATE -ffunction-sections -fdata-sections)
  target_compile_definitions(atmhealthd_static_libraries PRIVATE SPDLOG_FMT_EXTERNAL)
  target_link_libraries(atmhealthd_static_libraries PRIVATE
    spdlog::spdlog fmt::fmt tomlplusplus::tomlplusplus)
  # Its objects come first on the link line, so --as-needed leaves out the
  # shared libraries whose every symbol they define.
  target_sources(atmhealthd PRIVATE $<TARGET_OBJECTS:atmhealthd_static_libraries>)
  target_link_options(atmhealthd PRIVATE -static-libstdc++ -static-libgcc)

  # The code the agent runs, packed at the front of its text (agent/hot_code.ld,
  # made by scripts/order-agent-code.sh): the kernel maps code 64 KiB around
  # every page that runs, so scattered it kept nearly the whole binary resident.
  set(hot_code ${PROJECT_SOURCE_DIR}/agent/hot_code.ld)
  target_link_options(atmhealthd PRIVATE LINKER:-T,${hot_code})
  set_property(TARGET atmhealthd APPEND PROPERTY LINK_DEPENDS ${hot_code})
endif()
