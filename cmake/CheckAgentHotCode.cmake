# ctest: agent/hot_code.ld still names the code atmhealthd runs. The list
# (scripts/order-agent-code.sh) names functions by their sections; as the
# code changes, names drop out of the link and what they named lands among
# the code that never runs, where each call maps 64 KiB of it again
# (BENCHMARKS.md §5). Fails when fewer than 90 % of the functions listed are
# still in the binary: time to run scripts/order-agent-code.sh again.
# Run as cmake -DAGENT=<atmhealthd> -DLIST=<hot_code.ld> -P CheckAgentHotCode.cmake.
file(STRINGS ${LIST} lines REGEX "^    \\*\\(\\.text\\.[^ ]+\\)$")
execute_process(COMMAND nm --defined-only ${AGENT} OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "nm ${AGENT} failed")
endif()
set(listed 0)
set(missing 0)
set(examples "")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^    \\*\\(\\.text\\.(startup\\.|unlikely\\.|hot\\.)?(.+)\\)$" "\\2" name "${line}")
  math(EXPR listed "${listed} + 1")
  string(FIND "${symbols}" " ${name}\n" at)
  if(at EQUAL -1)
    math(EXPR missing "${missing} + 1")
    if(missing LESS_EQUAL 5)
      string(APPEND examples "  ${name}\n")
    endif()
  endif()
endforeach()
if(listed LESS 500)
  message(FATAL_ERROR "${LIST} lists ${listed} functions; it should list the agent's running code "
    "(scripts/order-agent-code.sh)")
endif()
math(EXPR kept_percent "(${listed} - ${missing}) * 100 / ${listed}")
message(STATUS "${kept_percent} % of the ${listed} functions ${LIST} lists are in ${AGENT}")
if(kept_percent LESS 90)
  message(FATAL_ERROR "${missing} of the ${listed} functions ${LIST} lists are no longer in "
    "${AGENT}, among them:\n${examples}Run scripts/order-agent-code.sh to list them again.")
endif()
