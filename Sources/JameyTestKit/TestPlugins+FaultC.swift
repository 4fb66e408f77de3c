extension TestPlugins {
    private static let faultCache = LockedBox<String?>(nil)

    /// Builds the fault_c fault-injection plugin (Plugins/FaultC) once per process and returns
    /// the path of its `libFaultC.so`.
    public static func faultC() throws -> String {
        if let cached = faultCache.withLock({ $0 }) { return cached }
        let dir = try TemporaryDirectory.make(prefix: "jamey-faultc")
        let output = dir + "/libFaultC.so"
        try compile(
            sources: [packageRoot + "/Plugins/FaultC/fault_c.c"], output: output,
            flags: ["-Wall", "-Wextra", "-Werror"])
        faultCache.withLock { $0 = output }
        return output
    }
}
