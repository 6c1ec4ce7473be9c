#include "platform/command_runner.h"

namespace atmhealth::platform {

std::string_view CommandOutcome::FirstLine() const {
  std::string_view line(output);
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string CommandOutcome::Describe(const CommandSpec& spec) const {
  std::string text;
  if (killed_at_time_limit) {
    text =
        "killed (SIGKILL) at its time limit of " + std::to_string(spec.time_limit.count()) + " ms";
    if (exited)
      text += " (it had exited with status " + std::to_string(exit_code) +
              " but left a process holding its output open)";
  } else if (exited) {
    text = "exit status " + std::to_string(exit_code);
  } else {
    text = "killed by signal " + std::to_string(signal);
  }
  if (output_truncated) {
    text += ", output cut at " + std::to_string(spec.output_limit) + " of " +
            std::to_string(output_bytes) + " bytes";
  }
  return text;
}

}  // namespace atmhealth::platform
