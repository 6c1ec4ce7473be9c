#include <unistd.h>

#include "platform/terminal.h"

namespace atmhealth::platform {

bool StdoutIsTerminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace atmhealth::platform
