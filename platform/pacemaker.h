// A pacemaker cluster as `crm_mon` reports it in XML: the old `<crm_mon>`
// form (`crm_mon --as-xml`, pacemaker 1.1) and the new `<pacemaker-result>`
// form (`crm_mon --output-as=xml`, pacemaker 2 and 3). Facts only; the
// redundancy rules decide what they mean.
#ifndef ATMHEALTH_PLATFORM_PACEMAKER_H_
#define ATMHEALTH_PLATFORM_PACEMAKER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/command_runner.h"
#include "platform/status.h"

namespace atmhealth::platform {

struct ClusterNode {
  std::string name;
  std::string id;
  std::string type;  // "member", "remote", "ping"
  bool online = false;
  bool standby = false;
  bool standby_onfail = false;
  bool maintenance = false;
  bool pending = false;
  bool unclean = false;  // needs fencing: its state is not known
  bool shutdown = false;
  bool is_dc = false;
  int resources_running = 0;
};

struct ClusterResource {
  std::string id;           // "rsc_ip" (clone instances share the id)
  std::string agent;        // "ocf:heartbeat:IPaddr2"
  std::string role;         // "Started", "Stopped", "Promoted"/"Master", "Unpromoted"/"Slave", ...
  std::string target_role;  // empty when not set
  // The clone, group or bundle it belongs to, outermost first joined by '/'
  // ("httpd-bundle/1" for a bundle replica); empty for a primitive at the top.
  std::string parent;
  bool active = false;
  bool failed = false;
  bool managed = true;
  bool blocked = false;
  bool orphaned = false;
  bool failure_ignored = false;
  std::vector<std::string> nodes;  // names of the nodes it runs on
};

// A failed operation (`<failures><failure .../>`).
struct ClusterFailure {
  std::string op_key;  // "dummy-2_monitor_0"
  std::string node;
  std::string task;         // "monitor", "start", ...
  std::string exit_status;  // "not running", "Unimplemented", ...
  std::string exit_reason;
  int exit_code = 0;
  std::string status;  // "complete", "Done", "Timed Out", ...
};

struct ClusterStatus {
  enum class Form { kCrmMon, kPacemakerResult };
  Form form = Form::kPacemakerResult;
  std::string dc;                   // the designated controller's name; empty when none
  std::optional<bool> with_quorum;  // absent when there is no DC to say
  bool maintenance_mode = false;    // cluster-wide maintenance
  std::vector<ClusterNode> nodes;
  std::vector<ClusterResource> resources;
  std::vector<ClusterFailure> failures;
  // <pacemaker-result> ends with `<status code=".." message=".."/>`: what
  // crm_mon itself says of its run (0 "OK"; 102 "Not connected", ...).
  std::optional<int> result_code;
  std::string result_message;
};

// crm_mon XML in either form. `source` names it in errors; a malformed
// document is an error with its line (`crm_mon:12: ...`).
Result<ClusterStatus> ParseCrmMonXml(std::string_view xml, std::string_view source);

// Runs the configured crm_mon command (e.g. `crm_mon --output-as=xml`, or
// `crm_mon --as-xml` on pacemaker 1.1) with RunCommand, standard error
// thrown away, and parses its output. Errors say which step failed: could
// not start (RunCommand's error), killed at its time limit (kTimeout),
// output cut at the output limit (kInvalidArgument), or output that is not
// crm_mon XML (the parse error, with the exit status). A non-zero exit with
// well-formed XML is a status: `result_code` carries what crm_mon said.
Result<ClusterStatus> RunCrmMon(CommandSpec command);

// What RunCrmMon makes of one run of `command` that has already ended (run
// elsewhere: the cluster watcher runs crm_mon on a thread of its own), with
// the same errors.
Result<ClusterStatus> ReadCrmMonRun(const CommandSpec& command,
                                    const Result<CommandOutcome>& outcome);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_PACEMAKER_H_
