# One INTERFACE target carries the language standard, warnings and sanitizers;
# every project library and executable links it.
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

add_library(atmhealth_options INTERFACE)
target_compile_features(atmhealth_options INTERFACE cxx_std_20)
target_compile_options(atmhealth_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wimplicit-fallthrough
  # GCC 12 reports a false mismatch for the frames of C++20 coroutines.
  -Wno-mismatched-new-delete
  $<$<BOOL:${ATMHEALTH_WERROR}>:-Werror>)
# Asio and Beast are compiled once (platform/asio_impl.cc) instead of in every
# translation unit: this keeps the build lean.
target_compile_definitions(atmhealth_options INTERFACE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_STD_EXPERIMENTAL_STRING_VIEW
  SPDLOG_FMT_EXTERNAL
  ATMHEALTH_VERSION="${PROJECT_VERSION}")
target_include_directories(atmhealth_options INTERFACE ${PROJECT_SOURCE_DIR})
# Relocations resolved at start and then read-only (Debian's hardening).
target_link_options(atmhealth_options INTERFACE -Wl,-z,relro,-z,now)

if(ATMHEALTH_SANITIZE)
  target_compile_options(atmhealth_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(atmhealth_options INTERFACE -fsanitize=address,undefined)
endif()
