// toml++ compiled into atmhealthd (cmake/AgentFootprint.cmake): the
// implementation of the parser and the node types, from the library's own
// headers, as toml++ documents for builds with TOML_HEADER_ONLY=0.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
