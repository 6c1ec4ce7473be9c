# ctest: atmhealthd loads no shared C++ runtime. It links libstdc++ and
# libgcc statically (cmake/AgentFootprint.cmake); a shared library linked
# into it that needs libstdc++.so.6 would load a second C++ runtime beside
# its own (two heaps of exception and locale state) and the memory that linking
# statically saved. Run as cmake -DAGENT=<atmhealthd> -P CheckAgentRuntime.cmake.
execute_process(COMMAND ldd ${AGENT} OUTPUT_VARIABLE loaded ERROR_VARIABLE loaded
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "ldd ${AGENT} failed:\n${loaded}")
endif()
if(loaded MATCHES "libstdc\\+\\+|libgcc_s")
  message(FATAL_ERROR "${AGENT} loads a shared C++ runtime; link the library that needs it "
    "statically or compile it in (agent/static_libraries/):\n${loaded}")
endif()
