// Whether a person is looking at the output: colour and alignment for a
// terminal, plain text for a pipe or a file.
#ifndef ATMHEALTH_PLATFORM_TERMINAL_H_
#define ATMHEALTH_PLATFORM_TERMINAL_H_

namespace atmhealth::platform {

// True when standard output is a terminal.
bool StdoutIsTerminal();

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_TERMINAL_H_
