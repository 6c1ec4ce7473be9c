# atmhealth_proto_library(<target> PROTOS <files...>)
# Generates C++ for the given .proto files into the build tree only, and builds
# them as a static library that exports the generated headers.
function(atmhealth_proto_library target)
  cmake_parse_arguments(ARG "" "" "PROTOS" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/generated)
  file(MAKE_DIRECTORY ${out_dir})
  set(sources)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH rel ${CMAKE_CURRENT_SOURCE_DIR} ${abs})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    list(APPEND sources ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h)
    add_custom_command(
      OUTPUT ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h
      COMMAND protobuf::protoc --cpp_out=${out_dir} -I ${CMAKE_CURRENT_SOURCE_DIR} ${rel}
      WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel}"
      VERBATIM)
  endforeach()
  add_library(${target} STATIC ${sources})
  target_include_directories(${target} SYSTEM PUBLIC ${out_dir})
  target_link_libraries(${target} PUBLIC atmhealth_dep_protobuf_lite)
  target_compile_features(${target} PUBLIC cxx_std_20)
endfunction()
