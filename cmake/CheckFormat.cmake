# cmake -DCLANG_FORMAT=<path> -DSOURCE_DIR=<repo> -P CheckFormat.cmake
# Fails when a C++ file of the project is not formatted as .clang-format says:
# the style is enforced by ctest, not by review.
file(GLOB_RECURSE files
  ${SOURCE_DIR}/agent/*.cc ${SOURCE_DIR}/agent/*.h
  ${SOURCE_DIR}/collector/*.cc ${SOURCE_DIR}/collector/*.h
  ${SOURCE_DIR}/platform/*.cc ${SOURCE_DIR}/platform/*.h
  ${SOURCE_DIR}/proto/*.cc ${SOURCE_DIR}/proto/*.h
  ${SOURCE_DIR}/tests/*.cc ${SOURCE_DIR}/tests/*.h)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${files}
                RESULT_VARIABLE result ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "not clang-formatted (run: clang-format -i <file>):\n${errors}")
endif()
list(LENGTH files count)
message(STATUS "${count} files are clang-formatted")
