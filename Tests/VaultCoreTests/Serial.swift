import Testing

/// The heavy vault suites (encryption of many megabytes, restic and age processes, kill -9 of
/// child processes) run one test at a time, so a full `swift test` run leaves the CPU to the
/// other suites' timing-sensitive kernels.
@Suite(.serialized) struct VaultSerial {}
