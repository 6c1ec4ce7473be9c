#include <algorithm>
#include <filesystem>
#include <system_error>

#include "platform/bonding.h"
#include "platform/text_input.h"

namespace atmhealth::platform {

Result<BondStatus> ReadBondStatus(const std::string& bond, const std::string& proc_root) {
  if (bond.empty() || bond == "." || bond == ".." || bond.find('/') != std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "\"" + bond + "\" is not a bond interface name");
  }
  const std::string path = proc_root + "/net/bonding/" + bond;
  auto text = ReadTextFile(path, 256 << 10);  // bytes; one bond with many slaves is a few KiB
  if (!text.ok()) return text.error();
  return ParseBondStatus(*text, bond, path);
}

std::vector<std::string> ListBonds(const std::string& proc_root) {
  std::vector<std::string> bonds;
  std::error_code error;
  for (std::filesystem::directory_iterator it(proc_root + "/net/bonding", error), end;
       !error && it != end; it.increment(error)) {
    bonds.push_back(it->path().filename().string());
  }
  std::sort(bonds.begin(), bonds.end());
  return bonds;
}

}  // namespace atmhealth::platform
