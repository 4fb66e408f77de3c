extension Kernel {
    /// Publishes `kernel.events.plugin_state` (`JAMEY_TOPIC_PLUGIN_STATE`): headers `plugin`,
    /// `state`, `previous`; a JSON payload with the same and the failure and generation.
    func publishStateEvent(
        _ record: PluginRecord, state: PluginState, previous: PluginState, failure: String?, generation: UInt64
    ) {
        var payload = ConfigMap()
        payload["plugin"] = .string(record.name)
        payload["state"] = .string(state.rawValue)
        payload["previous"] = .string(previous.rawValue)
        payload["failure"] = failure.map(ConfigValue.string) ?? .null
        payload["generation"] = .int(Int64(truncatingIfNeeded: generation))
        let message = BusMessage(
            topic: Self.stateEventTopic, payload: Array(ConfigValue.map(payload).jsonString().utf8),
            contentType: "application/json",
            headers: [
                BusHeader(key: "plugin", value: record.name), BusHeader(key: "state", value: state.rawValue),
                BusHeader(key: "previous", value: previous.rawValue),
            ])
        // A full subscriber queue drops the event (counted); the list stays the truth.
        try? events.publish(message)
    }

    /// `kernel.events.plugin_state`.
    public static let stateEventTopic = "kernel.events.plugin_state"

    /// Records a hook's duration in the metrics and in the plugin's figures.
    func recordHook(_ record: PluginRecord, _ hook: String, _ duration: Duration) {
        metrics.recordHook(plugin: record.name, hook: hook, duration: duration)
        let nanos = duration.wholeNanoseconds
        record.hookNanoseconds.add(UInt64(clamping: max(nanos, 0)), ordering: .relaxed)
    }
}
