#include "tests/support/test_pki.h"

#include <gtest/gtest.h>

#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {

TestPki::TestPki(const std::filesystem::path& dir, const std::string& name) : dir_(dir) {
  std::filesystem::create_directories(dir_.parent_path());
  Run({"init", dir_.string(), name});
}

void TestPki::Run(const std::vector<std::string>& args) {
  std::vector<std::string> command = {SourceFile("scripts/pki.sh").string()};
  command.insert(command.end(), args.begin(), args.end());
  const auto log = dir_.parent_path() / (dir_.filename().string() + ".pki.log");
  Process pki("/bin/sh", command, log);
  const auto code = pki.Wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value() && *code == 0) << "pki.sh " << args.front() << " failed:\n"
                                              << pki.Log();
}

TestPki::Issued TestPki::IssuedTo(const std::string& name) const {
  return Issued{dir_ / "issued" / (name + ".crt"), dir_ / "issued" / (name + ".key")};
}

TestPki::Issued TestPki::Device(const std::string& device_id, const std::string& not_before,
                                const std::string& not_after) {
  std::vector<std::string> args = {"device", dir_.string(), device_id};
  if (!not_before.empty()) args.insert(args.end(), {"--not-before", not_before});
  if (!not_after.empty()) args.insert(args.end(), {"--not-after", not_after});
  Run(args);
  return IssuedTo(device_id);
}

TestPki::Issued TestPki::Collector(const std::string& name, const std::vector<std::string>& names) {
  std::vector<std::string> args = {"collector", dir_.string(), name};
  args.insert(args.end(), names.begin(), names.end());
  Run(args);
  return IssuedTo(name);
}

void TestPki::Revoke(const std::string& name) { Run({"revoke", dir_.string(), name}); }

}  // namespace atmhealth::testing
