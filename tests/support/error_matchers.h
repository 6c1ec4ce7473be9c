// gMock matchers for the project's Result: a parser's error names the place
// ("mdstat:7: ...") and says what was wrong.
#ifndef ATMHEALTH_TESTS_SUPPORT_ERROR_MATCHERS_H_
#define ATMHEALTH_TESTS_SUPPORT_ERROR_MATCHERS_H_

#include <gmock/gmock.h>

#include <string>

#include "platform/status.h"

namespace atmhealth::testing {

// A Result that failed with kInvalidArgument, whose message starts with
// `where` and mentions `what`:
//   EXPECT_THAT(ParseMdStat(text, "mdstat"), IsBadInputAt("mdstat:2: ", "size"));
MATCHER_P2(IsBadInputAt, where, what,
           std::string(negation ? "is not" : "is") + " an invalid-argument error starting \"" +
               std::string(where) + "\" and mentioning \"" + std::string(what) + "\"") {
  if (arg.ok()) {
    *result_listener << "succeeded";
    return false;
  }
  const auto& message = arg.error().message();
  *result_listener << "error (" << ErrorCodeName(arg.error().code()) << "): " << message;
  return arg.error().code() == ErrorCode::kInvalidArgument &&
         message.rfind(std::string(where), 0) == 0 &&
         message.find(std::string(what)) != std::string::npos;
}

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_ERROR_MATCHERS_H_
