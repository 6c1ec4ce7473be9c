#include "platform/pacemaker.h"

#include <algorithm>
#include <charconv>
#include <pugixml.hpp>

#include "platform/text_input.h"

namespace atmhealth::platform {
namespace {

// clone > group > resource and bundle > replica > resource are the deepest
// pacemaker nests; anything far deeper is not crm_mon output.
constexpr int kMaxResourceDepth = 8;

class Reader {
 public:
  Reader(std::string_view xml, std::string_view source) : xml_(xml), source_(source) {}

  int LineOf(const pugi::xml_node& node) const { return LineAt(node.offset_debug()); }
  int LineAt(std::ptrdiff_t offset) const {
    if (offset < 0) return 1;
    const auto end = std::min(static_cast<std::size_t>(offset), xml_.size());
    return 1 + static_cast<int>(std::count(xml_.begin(), xml_.begin() + end, '\n'));
  }

  Error Bad(const pugi::xml_node& node, std::string_view what) const {
    return BadLine(source_, LineOf(node),
                   "<" + std::string(node.name()) + ">: " + std::string(what));
  }

  // "true"/"false" (and "1"/"0"); `fallback` when the attribute is absent.
  Result<bool> Bool(const pugi::xml_node& node, const char* name, bool fallback) const {
    const auto attribute = node.attribute(name);
    if (!attribute) return fallback;
    const std::string_view value = attribute.value();
    if (value == "true" || value == "1") return true;
    if (value == "false" || value == "0") return false;
    return Bad(node, std::string(name) + "=" + QuoteForError(value) + " is not true or false");
  }

  Result<int> Int(const pugi::xml_node& node, const char* name, int fallback) const {
    const auto attribute = node.attribute(name);
    if (!attribute) return fallback;
    const std::string_view value = attribute.value();
    int number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
      return Bad(node, std::string(name) + "=" + QuoteForError(value) + " is not a whole number");
    }
    return number;
  }

 private:
  std::string_view xml_;
  std::string_view source_;
};

#define ATMHEALTH_ASSIGN(target, expression)   \
  do {                                         \
    auto result_ = (expression);               \
    if (!result_.ok()) return result_.error(); \
    target = *result_;                         \
  } while (false)

Result<ClusterNode> ReadNode(const Reader& reader, const pugi::xml_node& element) {
  ClusterNode node;
  node.name = element.attribute("name").value();
  if (node.name.empty()) return reader.Bad(element, "node without a name");
  node.id = element.attribute("id").value();
  node.type = element.attribute("type").value();
  ATMHEALTH_ASSIGN(node.online, reader.Bool(element, "online", false));
  ATMHEALTH_ASSIGN(node.standby, reader.Bool(element, "standby", false));
  ATMHEALTH_ASSIGN(node.standby_onfail, reader.Bool(element, "standby_onfail", false));
  ATMHEALTH_ASSIGN(node.maintenance, reader.Bool(element, "maintenance", false));
  ATMHEALTH_ASSIGN(node.pending, reader.Bool(element, "pending", false));
  ATMHEALTH_ASSIGN(node.unclean, reader.Bool(element, "unclean", false));
  ATMHEALTH_ASSIGN(node.shutdown, reader.Bool(element, "shutdown", false));
  ATMHEALTH_ASSIGN(node.is_dc, reader.Bool(element, "is_dc", false));
  ATMHEALTH_ASSIGN(node.resources_running, reader.Int(element, "resources_running", 0));
  return node;
}

Result<ClusterResource> ReadResource(const Reader& reader, const pugi::xml_node& element,
                                     const std::string& parent) {
  ClusterResource resource;
  resource.id = element.attribute("id").value();
  if (resource.id.empty()) return reader.Bad(element, "resource without an id");
  resource.agent = element.attribute("resource_agent").value();
  resource.role = element.attribute("role").value();
  resource.target_role = element.attribute("target_role").value();
  resource.parent = parent;
  ATMHEALTH_ASSIGN(resource.active, reader.Bool(element, "active", false));
  ATMHEALTH_ASSIGN(resource.failed, reader.Bool(element, "failed", false));
  ATMHEALTH_ASSIGN(resource.managed, reader.Bool(element, "managed", true));
  ATMHEALTH_ASSIGN(resource.blocked, reader.Bool(element, "blocked", false));
  ATMHEALTH_ASSIGN(resource.orphaned, reader.Bool(element, "orphaned", false));
  ATMHEALTH_ASSIGN(resource.failure_ignored, reader.Bool(element, "failure_ignored", false));
  for (const auto& node : element.children("node")) {
    const std::string name = node.attribute("name").value();
    if (name.empty()) return reader.Bad(node, "resource " + resource.id + ": node without a name");
    resource.nodes.push_back(name);
  }
  return resource;
}

// Collects the primitives under <resources>, through clones, groups,
// bundles and their replicas.
Status ReadResources(const Reader& reader, const pugi::xml_node& container,
                     const std::string& parent, int depth, std::vector<ClusterResource>& out) {
  if (depth > kMaxResourceDepth) {
    return reader.Bad(
        container, "resources nested deeper than " + std::to_string(kMaxResourceDepth) + " levels");
  }
  for (const auto& child : container.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view name = child.name();
    if (name == "resource") {
      auto resource = ReadResource(reader, child, parent);
      if (!resource.ok()) return resource.error();
      out.push_back(std::move(*resource));
    } else if (name == "clone" || name == "group" || name == "bundle" || name == "replica") {
      const std::string id = child.attribute("id").value();
      if (id.empty()) return reader.Bad(child, "without an id");
      auto status =
          ReadResources(reader, child, parent.empty() ? id : parent + "/" + id, depth + 1, out);
      if (!status.ok()) return status;
    }
  }
  return OkStatus();
}

Result<ClusterFailure> ReadFailure(const Reader& reader, const pugi::xml_node& element) {
  ClusterFailure failure;
  failure.op_key = element.attribute("op_key").value();
  if (failure.op_key.empty()) return reader.Bad(element, "failure without an op_key");
  failure.node = element.attribute("node").value();
  failure.task = element.attribute("task").value();
  failure.exit_status = element.attribute("exitstatus").value();
  failure.exit_reason = element.attribute("exitreason").value();
  failure.status = element.attribute("status").value();
  ATMHEALTH_ASSIGN(failure.exit_code, reader.Int(element, "exitcode", 0));
  return failure;
}

#undef ATMHEALTH_ASSIGN

}  // namespace

Result<ClusterStatus> ParseCrmMonXml(std::string_view xml, std::string_view source) {
  const Reader reader(xml, source);
  pugi::xml_document document;
  const auto parsed =
      document.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    return BadLine(source, reader.LineAt(parsed.offset),
                   std::string("not well-formed XML: ") + parsed.description());
  }
  const auto root = document.document_element();
  ClusterStatus status;
  const std::string_view root_name = root.name();
  if (root_name == "crm_mon") {
    status.form = ClusterStatus::Form::kCrmMon;
  } else if (root_name == "pacemaker-result") {
    status.form = ClusterStatus::Form::kPacemakerResult;
  } else {
    return BadLine(source, reader.LineOf(root),
                   "root element <" + std::string(root_name).substr(0, 60) +
                       "> is neither <crm_mon> nor <pacemaker-result>");
  }

  const auto summary = root.child("summary");
  if (const auto dc = summary.child("current_dc")) {
    auto present = reader.Bool(dc, "present", false);
    if (!present.ok()) return present.error();
    if (*present) {
      status.dc = dc.attribute("name").value();
      auto quorum = reader.Bool(dc, "with_quorum", false);
      if (!quorum.ok()) return quorum.error();
      status.with_quorum = *quorum;
    }
  }
  if (const auto options = summary.child("cluster_options")) {
    auto maintenance = reader.Bool(options, "maintenance-mode", false);
    if (!maintenance.ok()) return maintenance.error();
    status.maintenance_mode = *maintenance;
  }

  std::vector<ClusterResource> resources_by_node;  // the old form's per-node lists
  for (const auto& element : root.child("nodes").children("node")) {
    auto node = ReadNode(reader, element);
    if (!node.ok()) return node.error();
    for (const auto& child : element.children("resource")) {
      auto resource = ReadResource(reader, child, "");
      if (!resource.ok()) return resource.error();
      if (resource->nodes.empty()) resource->nodes.push_back(node->name);
      resources_by_node.push_back(std::move(*resource));
    }
    status.nodes.push_back(std::move(*node));
  }

  if (const auto resources = root.child("resources")) {
    auto read = ReadResources(reader, resources, "", 0, status.resources);
    if (!read.ok()) return read.error();
  } else {
    status.resources = std::move(resources_by_node);
  }

  for (const auto& element : root.child("failures").children("failure")) {
    auto failure = ReadFailure(reader, element);
    if (!failure.ok()) return failure.error();
    status.failures.push_back(std::move(*failure));
  }

  if (const auto result = root.child("status")) {
    auto code = reader.Int(result, "code", 0);
    if (!code.ok()) return code.error();
    status.result_code = *code;
    status.result_message = result.attribute("message").value();
  }
  return status;
}

Result<ClusterStatus> ReadCrmMonRun(const CommandSpec& command,
                                    const Result<CommandOutcome>& outcome) {
  if (!outcome.ok()) return outcome.error();
  const std::string& program = command.argv.front();
  if (outcome->killed_at_time_limit) {
    return Error(ErrorCode::kTimeout, program + ": " + outcome->Describe(command));
  }
  if (outcome->output_truncated) {
    return Error(ErrorCode::kInvalidArgument,
                 program + ": " + outcome->Describe(command) + "; raise its output limit");
  }
  auto status = ParseCrmMonXml(outcome->output, program);
  if (!status.ok() && !outcome->Succeeded()) {
    return Error(status.error().code(),
                 status.error().message() + " (" + outcome->Describe(command) + ")");
  }
  return status;
}

Result<ClusterStatus> RunCrmMon(CommandSpec command) {
  command.stderr_handling = CommandSpec::Stderr::kDiscarded;  // warnings would break the XML
  return ReadCrmMonRun(command, RunCommand(command));
}

}  // namespace atmhealth::platform
