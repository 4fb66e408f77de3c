import CJameyABI

/// `plugin_list` (ABI 1.3): every configured plugin as `jamey_plugin_info` structs.
let hostPluginList: @convention(c) (OpaquePointer?, jamey_plugin_list_fn?, UnsafeMutableRawPointer?) -> Int32 = {
    host, sink, userData in
    guard let plugin = resolveHost(host, "plugin_list"), let sink else { return JAMEY_E_INVALID }
    let kernel = plugin.kernel
    // Names, states, health and routes are built once per generation; only the figures are
    // read fresh for each call.
    let list = kernel.pluginListCache()
    var infos = list.infos
    let figures = list.records.map(kernel.figures)
    figures.withUnsafeBufferPointer { counted in
        for index in infos.indices { infos[index].figures = counted.baseAddress.map { $0 + index } }
        infos.withUnsafeBufferPointer { sink(userData, $0.baseAddress, $0.count) }
    }
    withExtendedLifetime(list) {}
    return JAMEY_OK
}

/// `plugins_generation` (ABI 1.3).
let hostPluginsGeneration: @convention(c) (OpaquePointer?) -> UInt64 = { host in
    guard let plugin = resolveHost(host, "plugins_generation") else { return 0 }
    return plugin.kernel.pluginsGeneration
}

/// The C plugin list of one generation: the structs and the arena their pointers live in.
final class PluginListCache: @unchecked Sendable {
    /// The generation it was built for.
    let generation: UInt64
    /// The plugins it describes, in config order.
    let records: [PluginRecord]
    /// The structs, `figures` unset.
    let infos: [jamey_plugin_info]
    private let arena: CStringArena

    init(generation: UInt64, records: [PluginRecord], infos: [jamey_plugin_info], arena: CStringArena) {
        self.generation = generation
        self.records = records
        self.infos = infos
        self.arena = arena
    }
}

extension Kernel {
    /// The C plugin list of the current generation, built when the generation moved on. Never
    /// freed while a caller holds it (callers keep a reference for the duration of their call).
    func pluginListCache() -> PluginListCache {
        let generation = pluginsGeneration
        if let cached = pluginList.withLock({ $0 }), cached.generation == generation { return cached }
        let arena = CStringArena()
        let built = PluginListCache(
            generation: generation, records: records, infos: pluginInfos(in: arena, figures: false), arena: arena)
        pluginList.withLock { $0 = built }
        return built
    }

    /// Changes whenever a plugin's state or cached health changes.
    public var pluginsGeneration: UInt64 { generation.load(ordering: .sequentiallyConsistent) }

    /// The plugin list as C structs whose pointers live in `arena`; `figures` false leaves the
    /// figures pointer NULL (for the per-generation cache).
    func pluginInfos(in arena: CStringArena, figures withFigures: Bool = true) -> [jamey_plugin_info] {
        records.map { record in
            let status = status(record)
            var info = jamey_plugin_info()
            info.struct_size = UInt32(MemoryLayout<jamey_plugin_info>.size)
            info.state = status.state.abiValue
            info.name = arena.string(status.name)
            info.version = arena.optional(status.version)
            info.abi = arena.optional(status.abi)
            info.path = arena.optional(status.path)
            info.failure = status.state == .failed ? arena.string(status.failure ?? "failed") : nil
            info.required = status.required ? 1 : 0
            info.health = status.health.map { Int32(PluginHealth.abiValue(of: $0.status)) } ?? JAMEY_HEALTH_NONE
            info.health_detail = arena.string(status.health?.detail ?? "")
            let requires = status.requires.map {
                dependency($0.name, $0.range, arena, flags: $0.optional ? JAMEY_DEPENDENCY_OPTIONAL : 0)
            }
            info.requires_list = arena.array(requires)
            info.requires_count = requires.count
            let provides = status.provides.map { dependency($0.name, $0.version.description, arena) }
            info.provides_list = arena.array(provides)
            info.provides_count = provides.count
            let routes = status.routes.map { route($0, arena) }
            info.routes = arena.array(routes)
            info.route_count = routes.count
            info.figures = withFigures ? arena.value(figures(record)) : nil
            return info
        }
    }

    /// What the kernel counted for one plugin.
    func figures(_ record: PluginRecord) -> jamey_plugin_figures {
        var figures = jamey_plugin_figures()
        figures.struct_size = UInt32(MemoryLayout<jamey_plugin_figures>.size)
        if let bus = record.with({ $0.host })?.endpoint.metrics {
            figures.messages_in = bus.messagesIn.value
            figures.messages_out = bus.messagesOut.value
            figures.handler_errors = bus.handlerErrors.value
            figures.messages_dropped = bus.dropped.value
            figures.request_timeouts = bus.requestTimeouts.value
            figures.handler_seconds = bus.handlerDuration.seconds
        }
        figures.hook_seconds = Double(record.hookNanoseconds.load(ordering: .relaxed)) / 1e9
        return figures
    }

    private func dependency(_ name: String, _ version: String, _ arena: CStringArena, flags: UInt32 = 0) -> jamey_dependency {
        jamey_dependency(
            struct_size: UInt32(MemoryLayout<jamey_dependency>.size), flags: flags, name: arena.string(name),
            version: arena.string(version))
    }

    private func route(_ r: PluginRoute, _ arena: CStringArena) -> jamey_route {
        jamey_route(
            struct_size: UInt32(MemoryLayout<jamey_route>.size), flags: r.longRunning ? JAMEY_ROUTE_LONG_RUNNING : 0,
            method: arena.string(r.method),
            path: arena.string(r.path), topic: arena.string(r.topic), scope: arena.string(r.scope),
            summary: arena.string(r.summary), operation_id: arena.optional(r.operationID),
            request_schema: arena.optional(r.requestSchema), response_schema: arena.optional(r.responseSchema),
            description: arena.optional(r.details))
    }
}

extension PluginState {
    /// The `jamey_plugin_state` value.
    var abiValue: UInt32 { UInt32(Self.allCases.firstIndex(of: self) ?? 0) }
}

extension PluginHealth {
    /// The `jamey_health_status` of `ok`, `degraded` or `unhealthy`.
    static func abiValue(of status: String) -> UInt32 {
        switch status {
        case "ok": JAMEY_HEALTH_OK.rawValue
        case "degraded": JAMEY_HEALTH_DEGRADED.rawValue
        default: JAMEY_HEALTH_UNHEALTHY.rawValue
        }
    }
}
