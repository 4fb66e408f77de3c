/// The kind byte of a frame between the kernel and an isolated plugin's runner.
///
/// A frame is `u32 length (little-endian, of what follows) | u8 kind | body`; bodies are written
/// with ``WireWriter`` and read with ``WireReader``, field by field in the order given here.
public enum FrameKind: UInt8, Sendable {
    // Kernel → runner
    /// `u64 seq, u8 hook, bytes config, u64 deadline` (the config only for init and check; the deadline
    /// in nanoseconds from receipt, the plugin's `hook_time_left`): run a lifecycle hook.
    case hook = 1
    /// `u64 subscription, u64 delivery, message`: a message for one of the plugin's subscriptions.
    case deliver = 2
    /// `u64 seq, i32 code, u64 value, string text`: the answer to a call from the runner.
    case result = 3
    /// `u64 seq, i32 status, u8 has reply, [message]`: a request of the plugin's finished.
    case requestDone = 4
    /// `string data dir, string node name, string node id`: sent once, before the first hook.
    case environment = 5

    // Runner → kernel
    /// `u64 seq, i32 code, string text`: a hook returned (health: its status and detail).
    case hookResult = 10
    /// `i32 level, string text`.
    case log = 11
    /// `message`.
    case publish = 12
    /// `u64 seq, string pattern, u32 capacity, u32 overflow, u32 flags, u64 runner id` → result
    /// (value: the kernel's subscription id).
    case subscribe = 13
    /// `u64 seq, u64 kernel id` → result.
    case unsubscribe = 14
    /// `u64 seq, u32 timeout ms, message` → requestDone.
    case request = 15
    /// `u64 delivery, message`: the reply to a delivered request.
    case reply = 16
    /// `u64 delivery, i32 code`: the handler of a delivery returned.
    case handled = 17
    /// `u64 seq, u32 kind, string name, string help, u32 n, n × (string, string) labels,
    /// u32 m, m × f64 buckets` → result (value: the metric id).
    case metricRegister = 18
    /// `u64 id, i32 op, f64 value`.
    case metricRecord = 19
    /// `u64 seq, u8 type, string key` → result (value: int bits, double bits or bool; text: string).
    case config = 20
    /// `u64 seq` → result (value: the log level).
    case logLevel = 21
    /// `i32 level, bytes message, u32 n, n × (string key, bytes value)`: `log_fields` (ABI 1.5).
    case logFields = 22
}

/// The lifecycle hook a ``FrameKind/hook`` frame asks for.
public enum HookKind: UInt8, Sendable {
    case initialize = 0
    case start = 1
    case stop = 2
    case deinitialize = 3
    case health = 4
    /// The plugin's `check` (ABI 1.6) of the frame's config, in a process started for it alone:
    /// no init runs there, and the process ends after it.
    case check = 5
}
