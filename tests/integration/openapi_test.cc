// docs/openapi.json against what a real collector answers: every documented
// operation is called, and each response body is checked against the schema
// documented for its status — types, required fields, enums, nullability,
// and no field the document does not describe. A small checker for the
// subset of OpenAPI 3.0 schemas the file uses, not a general validator.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/fleet_support.h"
#include "tests/integration/harness.h"
#include "tests/support/http_client.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class SchemaChecker {
 public:
  explicit SchemaChecker(json document) : document_(std::move(document)) {}

  const json& document() const { return document_; }

  // Problems of `value` against `schema`, each naming the place
  // ("$.devices[0].state: ...").
  std::vector<std::string> Check(const json& schema, const json& value) const {
    std::vector<std::string> problems;
    Visit(schema, value, "$", problems);
    return problems;
  }

  const json& Named(const std::string& name) const {
    return document_.at("components").at("schemas").at(name);
  }

 private:
  const json& Resolve(const json& schema) const {
    const std::string ref = schema.at("$ref");
    const std::string prefix = "#/components/schemas/";
    if (ref.rfind(prefix, 0) != 0) throw std::runtime_error("unsupported $ref " + ref);
    return Named(ref.substr(prefix.size()));
  }

  static bool HasType(const std::string& type, const json& value) {
    if (type == "string") return value.is_string();
    if (type == "integer") return value.is_number_integer();
    if (type == "number") return value.is_number();
    if (type == "boolean") return value.is_boolean();
    if (type == "array") return value.is_array();
    if (type == "object") return value.is_object();
    return false;
  }

  void Visit(const json& schema, const json& value, const std::string& where,
             std::vector<std::string>& problems) const {
    if (value.is_null()) {
      if (!schema.value("nullable", false) &&
          (schema.contains("type") || schema.contains("$ref"))) {
        problems.push_back(where + ": null, but the schema is not nullable");
      }
      return;
    }
    if (schema.contains("$ref")) {
      Visit(Resolve(schema), value, where, problems);
      return;
    }
    if (schema.contains("type") && !HasType(schema["type"], value)) {
      problems.push_back(where + ": " + value.dump() + " is not of type " +
                         schema["type"].get<std::string>());
      return;
    }
    if (schema.contains("enum")) {
      bool listed = false;
      for (const json& allowed : schema["enum"]) listed |= allowed == value;
      if (!listed) problems.push_back(where + ": " + value.dump() + " is not in the enum");
    }
    if (value.is_array() && schema.contains("items")) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        Visit(schema["items"], value[i], where + "[" + std::to_string(i) + "]", problems);
      }
    }
    // A schema without properties (opening_hours: a string or a table of
    // days) constrains nothing inside.
    if (value.is_object() &&
        (schema.contains("properties") || schema.contains("additionalProperties"))) {
      const json properties = schema.value("properties", json::object());
      for (const json& required : schema.value("required", json::array())) {
        if (!value.contains(required.get<std::string>())) {
          problems.push_back(where + ": required field " + required.get<std::string>() +
                             " is missing");
        }
      }
      for (const auto& [key, member] : value.items()) {
        if (properties.contains(key)) {
          Visit(properties[key], member, where + "." + key, problems);
        } else if (schema.contains("additionalProperties")) {
          Visit(schema["additionalProperties"], member, where + "." + key, problems);
        } else {
          problems.push_back(where + "." + key + ": not in the documented schema");
        }
      }
    }
  }

  json document_;
};

struct Call {
  std::string method;
  std::string target;  // path and query
  std::string headers;
  unsigned status;
};

std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

std::string ToLower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }
  ScratchDir scratch_;
};

TEST_F(OpenApiTest, EveryDocumentedOperationAnswersWithItsDocumentedSchema) {
  const SchemaChecker checker(json::parse(ReadFile(SourceFile("docs/openapi.json"))));
  WriteFile(scratch_ / "sites.toml", NearbySitesToml());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db", 0,
                             "[listen]\nplaintext = true\n\n" + FleetConfigToml() +
                                 "[fleet]\nevaluate_interval = \"100ms\"\n"
                                 "sites_file = \"" +
                                 (scratch_ / "sites.toml").string() + "\"\n");
  ASSERT_NE(collector.http_port(), 0);
  const std::uint16_t port = collector.http_port();
  StreamReader stream(port, "/api/v1/stream", ReadAuth());

  // A fleet with something to show: an ATM with a critical alert and a lost
  // service (an open incident), ATMs in service, one at an unregistered site.
  std::vector<std::unique_ptr<SimulatedAgent>> agents;
  for (const auto& [device, site] : std::vector<std::pair<std::string, std::string>>{
           {"atm-central", "central"}, {"atm-near", "near-1km"}, {"atm-stray", "unregistered"}}) {
    agents.push_back(std::make_unique<SimulatedAgent>(collector.agent_port(), device, site));
    ASSERT_TRUE(agents.back()->ok());
    ASSERT_TRUE(
        agents.back()->Heartbeat({{"withdrawal", "in_service"}, {"deposit", "in_service"}}));
  }
  // One ATM reports its transaction feed (the fleet's load).
  v1::FeedHealth feed;
  feed.set_lines_total(1200);
  feed.set_bad_lines_total(3);
  feed.add_bad_lines()->set_reason("bad_value");
  feed.mutable_bad_lines(0)->set_count(3);
  feed.set_tps(12.5);
  feed.set_error_ratio(0.02);
  feed.set_p99_ms(850);
  v1::FeedTypeThroughput& withdrawal = *feed.add_types();
  withdrawal.set_type("withdrawal");
  withdrawal.set_tps(12.5);
  agents[1]->set_feed(feed);
  ASSERT_TRUE(agents[1]->Heartbeat({{"withdrawal", "in_service"}, {"deposit", "in_service"}}));
  ASSERT_TRUE(agents[0]->FireCritical(1, "storage:/var/spool/ej", {"withdrawal"}));
  ASSERT_TRUE(agents[0]->Heartbeat({{"withdrawal", "out_of_service"}, {"deposit", "in_service"}},
                                   "storage:/var/spool/ej"));
  ASSERT_TRUE(WaitFor(
      [&] {
        const json open = GetJson(port, "/api/v1/incidents?status=open");
        return open.is_object() && open["incidents"].size() == 1;
      },
      seconds(10)));

  const std::vector<Call> calls = {
      {"GET", "/api/v1/fleet", ReadAuth(), 200},
      {"GET", "/api/v1/fleet", "", 401},
      {"GET", "/api/v1/devices", ReadAuth(), 200},
      {"GET", "/api/v1/devices?service=withdrawal&service_state=out_of_service", ReadAuth(), 200},
      {"GET", "/api/v1/devices?state=sideways", ReadAuth(), 400},
      {"GET", "/api/v1/devices", "Authorization: Bearer wrong\r\n", 401},
      {"GET", "/api/v1/device?id=atm-central", ReadAuth(), 200},
      {"GET", "/api/v1/device?id=atm-stray", ReadAuth(), 200},
      {"GET", "/api/v1/device?id=atm-near", ReadAuth(), 200},
      {"GET", "/api/v1/device?id=atm-nowhere", ReadAuth(), 404},
      {"GET", "/api/v1/device", ReadAuth(), 400},
      {"GET", "/api/v1/incidents", ReadAuth(), 200},
      {"GET", "/api/v1/incidents?status=all&category=daily_operation_storage", ReadAuth(), 200},
      {"GET", "/api/v1/incidents?status=whenever", ReadAuth(), 400},
      {"GET", "/api/v1/reports/fsa", ReadAuth(), 200},
      {"GET", "/api/v1/reports/fsa?from=2026-11-01T00:00Z&to=2026-12-01T00:00Z", ReadAuth(), 200},
      {"GET", "/api/v1/reports/fsa?from=2026-12-01&to=2026-11-01", ReadAuth(), 400},
      {"GET", "/api/v1/reports/fsa", "", 401},
      {"GET", "/api/v1/sites", ReadAuth(), 200},
      {"POST", "/api/v1/sites/reload", AdminAuth(), 200},
      {"POST", "/api/v1/sites/reload", ReadAuth(), 403},
      {"GET", "/api/v1/availability", "", 200},
      {"GET", "/api/v1/availability?site=central", "", 200},
  };
  std::set<std::pair<std::string, std::string>> called;
  for (const Call& call : calls) {
    SCOPED_TRACE(call.method + " " + call.target);
    Result<HttpReply> reply = HttpExchange(
        port, call.method + " " + call.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + call.headers +
                  (call.method == "POST" ? "Content-Length: 0\r\n" : "") +
                  "Connection: close\r\n\r\n");
    ASSERT_TRUE(reply.ok()) << reply.error().message();
    EXPECT_EQ(reply->status, call.status) << reply->body;
    const std::string path = PathOf(call.target);
    const std::string method = ToLower(call.method);
    called.emplace(path, method);
    const json& operation = checker.document()["paths"][path][method];
    ASSERT_TRUE(operation.is_object()) << "not documented";
    const json& response = operation["responses"][std::to_string(reply->status)];
    ASSERT_TRUE(response.is_object()) << "status " << reply->status << " not documented";
    const json schema = response["content"]["application/json"]["schema"];
    ASSERT_TRUE(schema.is_object()) << "no JSON schema documented";
    const std::vector<std::string> problems = checker.Check(schema, json::parse(reply->body));
    EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\n" << reply->body;
  }

  // The stream: the snapshot and the events of a change, each against the
  // schema the document names for it.
  ASSERT_TRUE(agents[1]->Heartbeat({{"withdrawal", "degraded"}, {"deposit", "in_service"}},
                                   "latency:core"));
  ASSERT_TRUE(agents[0]->Heartbeat({{"withdrawal", "in_service"}, {"deposit", "in_service"}}));
  const std::map<std::string, std::string> event_schemas = {{"snapshot", "StreamSnapshot"},
                                                            {"device", "Device"},
                                                            {"incident", "Incident"},
                                                            {"fleet", "FleetSummary"},
                                                            {"tolerance", "ToleranceAlert"},
                                                            {"alert", "AlertChange"},
                                                            {"incident_merged", "IncidentMerged"}};
  ASSERT_TRUE(
      WaitFor([&] { return StreamEvents(stream.Text(), "incident").size() >= 2; }, seconds(10)))
      << stream.Text();
  called.emplace("/api/v1/stream", "get");
  std::size_t checked = 0;
  for (const auto& [event, schema] : event_schemas) {
    for (const json& data : StreamEvents(stream.Text(), event)) {
      SCOPED_TRACE("event: " + event);
      const std::vector<std::string> problems = checker.Check(checker.Named(schema), data);
      EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\n" << data.dump();
      ++checked;
    }
  }
  EXPECT_GE(checked, 4u);

  // Nothing documented goes untested.
  for (const auto& [path, operations] : checker.document()["paths"].items()) {
    for (const auto& [method, unused] : operations.items()) {
      EXPECT_TRUE(called.contains({path, method})) << method << " " << path << " is not checked";
    }
  }
}

}  // namespace
}  // namespace atmhealth::testing
