// `atmhealthctl completion bash`: a bash completion script made from the
// command line's own definition, so it never falls behind a new option.
#ifndef ATMHEALTH_TOOLS_CTL_COMPLETION_H_
#define ATMHEALTH_TOOLS_CTL_COMPLETION_H_

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

namespace atmhealth::ctl {

// The script for `app`: its commands, each command's options, and for an
// option named in `values` (e.g. "--kind") the words that may follow it.
std::string BashCompletion(const CLI::App& app,
                           const std::map<std::string, std::vector<std::string>>& values);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_COMPLETION_H_
