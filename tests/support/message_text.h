// Protocol messages in test failure output, and their comparison. The
// messages are built for protobuf's lite runtime, which has no reflection:
// no DebugString (MessageLite's prints an address), no MessageDifferencer.
#ifndef ATMHEALTH_TESTS_SUPPORT_MESSAGE_TEXT_H_
#define ATMHEALTH_TESTS_SUPPORT_MESSAGE_TEXT_H_

#include <google/protobuf/message_lite.h>

#include <string>

#include "atmhealth/v1/event.pb.h"
#include "atmhealth/v1/session.pb.h"

namespace atmhealth::testing {

// Every field, one line: "Event{seq: 3, severity: critical, kind: storage, …}".
std::string Describe(const v1::Event& event);
// Which message it is and its fields: "Ack{seq: 3}", "Refusal{reason: …}".
std::string Describe(const v1::CollectorMessage& message);

// Field for field equal, as MessageDifferencer::Equals: the schema has no map
// fields, so equal messages serialize to the same bytes.
bool SameMessage(const google::protobuf::MessageLite& a, const google::protobuf::MessageLite& b);

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_MESSAGE_TEXT_H_
