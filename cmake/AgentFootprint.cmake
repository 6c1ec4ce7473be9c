# How atmhealthd is linked to stay small on an ATM (BENCHMARKS.md §5):
# protobuf's lite runtime from its static archive (cmake/AtmhealthDependencies.cmake),
# sections nothing calls dropped, no library linked that nothing uses,
# relative relocations packed (DT_RELR). Included after agent/ defines the target.
set_target_properties(atmhealthd PROPERTIES ATMHEALTH_STATIC_DEPS ON)
target_link_options(atmhealthd PRIVATE LINKER:--gc-sections LINKER:--as-needed
  LINKER:-z,pack-relative-relocs LINKER:-O1)
