#include "platform/md_raid.h"
#include "platform/text_input.h"

namespace atmhealth::platform {

Result<MdStat> ReadMdStat(const std::string& proc_root) {
  const std::string path = proc_root + "/mdstat";
  auto text = ReadTextFile(path, 1 << 20);  // bytes; a real mdstat is a few KiB
  if (!text.ok()) return text.error();
  return ParseMdStat(*text, path);
}

}  // namespace atmhealth::platform
