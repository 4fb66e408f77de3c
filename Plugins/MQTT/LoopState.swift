import MQTTCore

/// A spooled message in flight: its spool row, its rule and when it was handed to the client.
struct InFlight: Sendable {
    /// The spool row id.
    var row: Int64
    /// The outbound rule's bus pattern, if any.
    var rule: String?
    /// When it was published.
    var sentAt: ContinuousClock.Instant
}

/// State only the loop thread touches (the thread that owns the libmosquitto client and runs
/// every libmosquitto callback), so it needs no lock.
///
/// `@unchecked Sendable` because the compiler cannot see thread confinement: the ``Bridge`` (which
/// bus threads share) holds it, but only code running on the loop thread (`Bridge+Loop`,
/// `Bridge+Callbacks`, the drain in `Bridge+Outbound`, presence publishing) reads or writes it.
/// A lock here would be taken on every message for nothing.
final class LoopState: @unchecked Sendable {
    /// The client of the current attempt.
    var client: MosquittoClient?
    /// CONNACK accepted on the current attempt.
    var connected = false
    /// Why the broker refused the current attempt (CONNACK reason).
    var refusal: String?
    /// Why the broker ended the connection (MQTT 5 DISCONNECT reason).
    var disconnectReason: String?
    /// The last error or warning libmosquitto logged (TLS details live there).
    var lastLibraryError: String?
    /// Messages and acknowledgements handled so far (tells ``Bridge`` whether a read did anything).
    var events = 0
    /// Spooled messages in flight: message id → spool row, rule, when sent.
    var draining: [Int32: InFlight] = [:]
    /// Highest spool row id handed to the client on this connection.
    var lastSentID: Int64 = .min
    /// Spool rows acknowledged and not yet deleted.
    var acknowledged: [Int64] = []
    /// Subscriptions waiting for SUBACK: message id → filter.
    var subscribing: [Int32: String] = [:]
    /// Message id of the offline status published while stopping.
    var offlineMID: Int32?
    /// The offline status was acknowledged.
    var offlineAcknowledged = false
    /// The online status last published (republished when it changes).
    var lastStatus: NodeStatus?
    /// When this node came online (kept across reconnections).
    var onlineSince: Double?
    /// When housekeeping last ran and when presence was last checked.
    var lastHousekeeping: ContinuousClock.Instant = .now
    var lastPresenceCheck: ContinuousClock.Instant = .now
    /// When the presence resync of this connection ends (nil: none running).
    var presenceResyncAt: ContinuousClock.Instant?
    /// The last error logged at warning level (repeats go to debug, with a warning every 10 s).
    var lastLoggedError: String?
    /// When the last acknowledgement (or CONNACK) arrived: the send path's progress.
    var lastAck: ContinuousClock.Instant = .now
    /// Why the connection is being recycled (the send path stopped making progress).
    var stalled: String?
    /// When the spool last had something in flight or nothing to send, while connected.
    var lastDrainProgress: ContinuousClock.Instant = .now
}
