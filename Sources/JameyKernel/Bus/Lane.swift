import CJameyABI
import CJameySystem

/// The mailbox of a subscription with a C handler and the default overflow policy (drop
/// newest): a queue its publishers fill without a locked instruction per message
/// (`jamey_lane.h` explains how: records published by their header's kind word, a bias to the
/// thread that keeps publishing, a process-wide barrier on the consumer's side instead of a
/// fence on the producer's).
///
/// Records are laid out as in ``CompactRing``: a 24-byte header (size, kind, topic length,
/// payload length, source), then the payload, the topic and a NUL. A *boxed* record holds a
/// ``BusMessage`` itself after its header (any message that is not plain C bytes), moved in by
/// the producer and out by the consumer, so all kinds keep one order. A *request* record is a
/// plain request given as C bytes: an event's record with its correlation id after the header.
///
/// The consumer's side (``next()``, ``take(_:)``, ``discardAll(_:)``) is used only by the
/// thread that moved the lane's state to running; see ``Subscription/deliverLane``.
///
/// A handle, not an owner: a value holding the lane's address, so that neither the publisher
/// nor the worker counts references to reach it (a reference count is a locked instruction on
/// a line both threads would write). Its owner calls ``destroy()`` once (a ``Subscription``,
/// in its `deinit`).
struct Lane: @unchecked Sendable {
    let raw: UnsafeMutablePointer<jamey_lane>

    /// What an append did.
    enum Append: Equatable {
        /// Queued; `schedule`: the lane was idle and is now scheduled (the caller puts its
        /// subscription on the run queue).
        case queued(schedule: Bool)
        /// Refused: the lane holds its capacity.
        case full
        /// Refused: the lane is closed.
        case closed
    }

    /// A lane for at most `capacity` queued records.
    init(capacity: Int) {
        guard let lane = jamey_lane_create(UInt64(max(1, capacity))) else { fatalError("out of memory for a bus mailbox") }
        raw = lane
    }

    /// Releases the boxed messages still queued and frees the lane; no thread may use it
    /// afterwards.
    func destroy() {
        _ = discardAll { _ in }
        jamey_lane_destroy(raw)
    }

    /// Bytes after a boxed record's header: a ``BusMessage``, rounded up to 8.
    private static let boxedSize = (Int(JAMEY_LANE_HEADER) + MemoryLayout<BusMessage>.stride + 7) & ~7

    @inline(__always)
    private static func refused(_ status: Int32) -> Append {
        status == Int32(JAMEY_LANE_FULL) ? .full : .closed
    }

    /// Appends an event given as C bytes: `payload`, then the topic's `topicLength` bytes and a
    /// NUL, with the publisher's interned name.
    @inline(__always)
    func appendEvent(
        topic: UnsafeRawPointer, topicLength: Int, payload: UnsafeRawBufferPointer, source: UnsafePointer<CChar>
    ) -> Append {
        let size = CompactRing.recordSize(topicLength: topicLength, payloadLength: payload.count)
        var locked: Int32 = 0
        var status: Int32 = 0
        guard let record = jamey_lane_reserve(raw, UInt32(truncatingIfNeeded: size), &locked, &status) else {
            return Self.refused(status)
        }
        CompactRing.fillEvent(
            UnsafeMutableRawPointer(record), topic: topic, topicLength: topicLength, payload: payload, source: source)
        let schedule = jamey_lane_commit(raw, record, UInt32(truncatingIfNeeded: size), UInt32(JAMEY_LANE_EVENT), locked)
        return .queued(schedule: schedule != 0)
    }

    /// Bytes before a request record's payload: the header and the correlation id.
    static let requestHeaderSize = CompactRing.headerSize + 8

    /// Appends a request given as C bytes (see ``appendEvent(topic:topicLength:payload:source:)``)
    /// with its correlation id; its reply address is ``RequestTimer/replyAddress``.
    func appendRequest(
        topic: UnsafeRawPointer, topicLength: Int, payload: UnsafeRawBufferPointer, source: UnsafePointer<CChar>,
        correlationID: UInt64
    ) -> Append {
        let size = (Self.requestHeaderSize + payload.count + topicLength + 1 + 7) & ~7
        var locked: Int32 = 0
        var status: Int32 = 0
        guard let reserved = jamey_lane_reserve(raw, UInt32(truncatingIfNeeded: size), &locked, &status) else {
            return Self.refused(status)
        }
        let record = UnsafeMutableRawPointer(reserved)
        record.storeBytes(of: UInt32(truncatingIfNeeded: topicLength), toByteOffset: 8, as: UInt32.self)
        record.storeBytes(of: UInt32(truncatingIfNeeded: payload.count), toByteOffset: 12, as: UInt32.self)
        record.storeBytes(of: UInt(bitPattern: source), toByteOffset: 16, as: UInt.self)
        record.storeBytes(of: correlationID, toByteOffset: CompactRing.headerSize, as: UInt64.self)
        if let bytes = payload.baseAddress, payload.count > 0 {
            (record + Self.requestHeaderSize).copyMemory(from: bytes, byteCount: payload.count)
        }
        let topicAt = record + Self.requestHeaderSize + payload.count
        topicAt.copyMemory(from: topic, byteCount: topicLength)
        topicAt.storeBytes(of: 0, toByteOffset: topicLength, as: UInt8.self)
        let schedule = jamey_lane_commit(raw, reserved, UInt32(truncatingIfNeeded: size), UInt32(JAMEY_LANE_REQUEST), locked)
        return .queued(schedule: schedule != 0)
    }

    /// Appends `message` as a boxed record.
    /// - Returns: what happened, and the message back when it was refused.
    func appendBoxed(_ message: consuming BusMessage) -> (Append, BusMessage?) {
        var locked: Int32 = 0
        var status: Int32 = 0
        guard let record = jamey_lane_reserve(raw, UInt32(Self.boxedSize), &locked, &status) else {
            return (Self.refused(status), message)
        }
        (UnsafeMutableRawPointer(record) + CompactRing.headerSize).initializeMemory(as: BusMessage.self, to: message)
        let schedule = jamey_lane_commit(raw, record, UInt32(Self.boxedSize), UInt32(JAMEY_LANE_BOXED), locked)
        return (.queued(schedule: schedule != 0), nil)
    }

    // MARK: The lane's state

    /// Who has the lane: nobody (idle), the run queue (scheduled), a consumer (running), or
    /// nobody ever again (closed).
    enum State: UInt32 {
        case idle = 0
        case scheduled = 1
        case running = 2
        case closed = 3
    }

    var state: State { State(rawValue: jamey_lane_state(raw)) ?? .closed }

    /// Makes the lane running from `from`, for the calling thread to consume.
    /// - Returns: false when the state was not `from`.
    @inline(__always)
    func claim(from: State) -> Bool { jamey_lane_claim(raw, from.rawValue) != 0 }

    /// Sets the state of a lane the calling thread holds running.
    @inline(__always)
    func set(_ state: State) { jamey_lane_set_state(raw, state.rawValue) }

    /// Leaves an emptied lane idle (``jamey_lane_leave``).
    /// - Returns: true when a record arrived meanwhile and the lane is the caller's again.
    @inline(__always)
    func leave() -> Bool { jamey_lane_leave(raw) != 0 }

    /// Refuses every append from now on (waiting out one in progress).
    func closeProducers() { jamey_lane_close_producers(raw) }

    // MARK: The consumer's side

    /// The next published record, or nil when there is none yet.
    @inline(__always)
    func next() -> UnsafeMutableRawPointer? { jamey_lane_peek(raw).map { UnsafeMutableRawPointer($0) } }

    /// A record's kind (`JAMEY_LANE_EVENT`, `JAMEY_LANE_BOXED` or `JAMEY_LANE_REQUEST`).
    @inline(__always)
    static func kind(_ record: UnsafeMutableRawPointer) -> UInt32 { record.load(fromByteOffset: 4, as: UInt32.self) }

    /// Whether `record` is boxed (else an event or a request).
    @inline(__always)
    static func isBoxed(_ record: UnsafeMutableRawPointer) -> Bool {
        record.load(fromByteOffset: 4, as: UInt32.self) == UInt32(JAMEY_LANE_BOXED)
    }

    /// Whether `record` is a request given as C bytes.
    @inline(__always)
    static func isRequest(_ record: UnsafeMutableRawPointer) -> Bool {
        record.load(fromByteOffset: 4, as: UInt32.self) == UInt32(JAMEY_LANE_REQUEST)
    }

    /// A request record's correlation id.
    @inline(__always)
    static func correlationID(_ record: UnsafeMutableRawPointer) -> UInt64 {
        record.load(fromByteOffset: CompactRing.headerSize, as: UInt64.self)
    }

    /// Lays a C message out over a request record (its reply address and correlation id too).
    @inline(__always)
    static func describeRequest(_ record: UnsafeMutableRawPointer, into message: inout jamey_message) {
        let payloadLength = Int(record.load(fromByteOffset: 12, as: UInt32.self))
        message.payload = UnsafeRawPointer(record + requestHeaderSize)
        message.payload_len = payloadLength
        message.topic = UnsafePointer(
            (record + requestHeaderSize + payloadLength).assumingMemoryBound(to: CChar.self))
        message.source = UnsafePointer(bitPattern: record.load(fromByteOffset: 16, as: UInt.self))
        message.reply_to = RequestTimer.replyAddressCString
        message.correlation_id = correlationID(record)
    }

    /// The message of a boxed record.
    @inline(__always)
    static func boxed(_ record: UnsafeMutableRawPointer) -> UnsafeMutablePointer<BusMessage> {
        (record + CompactRing.headerSize).assumingMemoryBound(to: BusMessage.self)
    }

    /// Lays a C message out over an event record.
    @inline(__always)
    static func describe(_ record: UnsafeMutableRawPointer, into message: inout jamey_message) {
        let payloadLength = Int(record.load(fromByteOffset: 12, as: UInt32.self))
        message.payload = UnsafeRawPointer(record + CompactRing.headerSize)
        message.payload_len = payloadLength
        message.topic = UnsafePointer((record + CompactRing.headerSize + payloadLength).assumingMemoryBound(to: CChar.self))
        message.source = UnsafePointer(bitPattern: record.load(fromByteOffset: 16, as: UInt.self))
    }

    /// Takes `record` (the one ``next()`` returned) out of the queue: it no longer counts against
    /// the capacity, and the next ``next()`` looks past it. Its bytes stay readable until then;
    /// a boxed record's message must be released before (``release(_:)``).
    @inline(__always)
    func take(_ record: UnsafeMutableRawPointer) {
        jamey_lane_advance(raw, record.assumingMemoryBound(to: UInt8.self))
        jamey_lane_publish_head(raw)
    }

    /// Releases a boxed record's message after its delivery.
    @inline(__always)
    static func release(_ record: UnsafeMutableRawPointer) {
        if isBoxed(record) { boxed(record).deinitialize(count: 1) }
    }

    /// Bytes of a standard block (records larger than fit get blocks of their own).
    static let standardBlockBytes = Int(JAMEY_LANE_BLOCK_BYTES)

    /// Bytes of blocks the lane holds.
    var blockBytes: Int { Int(jamey_lane_block_bytes(raw)) }

    /// Consumes every published record without delivering it.
    /// - Parameters:
    ///   - boxed: given each boxed record's message (moved out).
    ///   - request: given each request record's correlation id.
    /// - Returns: how many events there were.
    func discardAll(_ boxed: (consuming BusMessage) -> Void, request: (UInt64) -> Void = { _ in }) -> Int {
        var events = 0
        while let record = next() {
            if Self.isBoxed(record) {
                boxed(Self.boxed(record).move())
            } else if Self.isRequest(record) {
                request(Self.correlationID(record))
            } else {
                events += 1
            }
            take(record)
        }
        return events
    }

    /// Records queued (appended and not yet consumed), as of the consumer's last batch.
    var depth: Int { Int(jamey_lane_depth(raw)) }

    /// Bytes of blocks the consumer freed since ``resetReleasedBytes()``.
    var releasedBytes: Int { Int(raw.pointee.released_bytes) }

    func resetReleasedBytes() { raw.pointee.released_bytes = 0 }
}
