import CJameyABI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The mailbox of a subscription whose handler is a C function (every plugin's, since plugins
/// subscribe through the ABI): a FIFO of *records* laid out end to end in one byte ring.
///
/// An event published across the ABI without content type or headers (the common case) is
/// copied into a record as it arrives — payload, topic and a pointer to the publisher's interned
/// name — so it costs no `BusMessage`, no allocation and no reference counting on either side. Any
/// other message offered to such a subscription (a request, an event with headers, one published
/// from Swift) is queued as a ``BusMessage`` beside the ring and stands in the ring as a *boxed*
/// record, which keeps one order across both kinds.
///
/// Records never straddle the end of the ring: one that does not fit before the end is preceded
/// by a padding record up to it. The ring grows by doubling and gives its storage back when it
/// drains (``shrinkIfEmpty(above:)``), like ``RingBuffer``.
struct CompactRing {
    /// What a record holds.
    enum Kind: UInt32 {
        /// Filler up to the end of the ring; never counted, never delivered.
        case padding = 0
        /// An event stored in the record.
        case event = 1
        /// The next ``BusMessage`` of the side queue.
        case boxed = 2
    }

    /// Bytes before a record's payload: size, kind, topic length, payload length, source.
    static let headerSize = 24

    private var storage: CompactStorage?
    /// Offset of the first record.
    private var head = 0
    /// Bytes in use from `head`, padding included.
    private var used = 0
    /// Records queued (events and boxed; padding excluded).
    private(set) var count = 0
    /// Boxed records queued.
    private(set) var boxedCount = 0

    /// Whether no record is queued.
    var isEmpty: Bool { count == 0 }

    /// Bytes allocated (for tests: a drained ring gives its memory back).
    var capacity: Int { storage?.capacity ?? 0 }

    /// The size of an event record, a multiple of 8.
    @inline(__always)
    static func recordSize(topicLength: Int, payloadLength: Int) -> Int {
        (headerSize + payloadLength + topicLength + 1 + 7) & ~7
    }

    /// Appends an event: `payload`, then the topic's `topicLength` bytes and a NUL.
    @inline(__always)
    mutating func appendEvent(
        topic: UnsafeRawPointer, topicLength: Int, payload: UnsafeRawBufferPointer, source: UnsafePointer<CChar>
    ) {
        let size = Self.recordSize(topicLength: topicLength, payloadLength: payload.count)
        let record = reserve(size)
        record.storeBytes(of: UInt32(truncatingIfNeeded: size), as: UInt32.self)
        record.storeBytes(of: Kind.event.rawValue, toByteOffset: 4, as: UInt32.self)
        Self.fillEvent(record, topic: topic, topicLength: topicLength, payload: payload, source: source)
    }

    /// Writes an event record's bytes from offset 8 on (lengths, source, payload, topic, NUL);
    /// the caller writes the size and the kind (a ``Lane`` publishes its record by the kind).
    @inline(__always)
    static func fillEvent(
        _ record: UnsafeMutableRawPointer, topic: UnsafeRawPointer, topicLength: Int, payload: UnsafeRawBufferPointer,
        source: UnsafePointer<CChar>
    ) {
        record.storeBytes(of: UInt32(truncatingIfNeeded: topicLength), toByteOffset: 8, as: UInt32.self)
        record.storeBytes(of: UInt32(truncatingIfNeeded: payload.count), toByteOffset: 12, as: UInt32.self)
        record.storeBytes(of: UInt(bitPattern: source), toByteOffset: 16, as: UInt.self)
        if let bytes = payload.baseAddress, payload.count > 0 {
            (record + headerSize).copyMemory(from: bytes, byteCount: payload.count)
        }
        let topicAt = record + headerSize + payload.count
        topicAt.copyMemory(from: topic, byteCount: topicLength)
        topicAt.storeBytes(of: 0, toByteOffset: topicLength, as: UInt8.self)
    }

    /// Appends a boxed record (its message goes on the side queue).
    mutating func appendBoxed() {
        let record = reserve(Self.headerSize)
        record.storeBytes(of: UInt32(Self.headerSize), as: UInt32.self)
        record.storeBytes(of: Kind.boxed.rawValue, toByteOffset: 4, as: UInt32.self)
        boxedCount += 1
    }

    /// Removes the first record, without copying it.
    /// - Returns: its kind (never ``Kind/padding``), or nil when the ring is empty.
    mutating func dropFirst() -> Kind? {
        guard let record = firstRecord() else { return nil }
        let kind = Kind(rawValue: record.load(fromByteOffset: 4, as: UInt32.self)) ?? .event
        advance(by: Int(record.load(as: UInt32.self)))
        if kind == .boxed { boxedCount -= 1 }
        return kind
    }

    /// Moves up to `limit` records, in order, into `batch` (boxed ones as markers).
    /// - Returns: how many of them are boxed (the caller moves as many side-queue messages).
    mutating func popFirst(upTo limit: Int, into batch: inout CompactBatch) -> Int {
        var boxed = 0
        var remaining = limit
        while remaining > 0, let record = firstRecord() {
            let size = Int(record.load(as: UInt32.self))
            if record.load(fromByteOffset: 4, as: UInt32.self) == Kind.boxed.rawValue { boxed += 1 }
            batch.append(record, byteCount: size)
            advance(by: size)
            remaining -= 1
        }
        boxedCount -= boxed
        return boxed
    }

    /// Moves every record into the empty `batch` without copying them: the batch takes this
    /// ring's storage as it is and gives its own (emptied) storage to the ring in exchange.
    /// Constant time, for the worker's take under the mailbox lock.
    /// - Returns: how many of them are boxed (the caller moves as many side-queue messages).
    mutating func takeAll(into batch: inout CompactBatch) -> Int {
        guard count > 0, let storage else { return 0 }
        let boxed = boxedCount
        self.storage = batch.adopt(storage, start: head, length: used, count: count)
        head = 0
        used = 0
        count = 0
        boxedCount = 0
        return boxed
    }

    /// Removes every record.
    /// - Returns: how many events there were (boxed records are not counted: their messages are
    ///   on the side queue).
    mutating func removeAll() -> Int {
        var events = 0
        while let kind = dropFirst() {
            if kind == .event { events += 1 }
        }
        head = 0
        used = 0
        return events
    }

    /// Releases the storage when the ring is empty and larger than `limit` bytes.
    /// - Returns: the number of bytes released (0 when nothing was).
    mutating func shrinkIfEmpty(above limit: Int) -> Int {
        guard count == 0, let storage, storage.capacity > limit else { return 0 }
        self.storage = nil
        head = 0
        used = 0
        return storage.capacity
    }

    /// The first non-padding record, skipping (and releasing) padding before it.
    @inline(__always)
    private mutating func firstRecord() -> UnsafeMutableRawPointer? {
        guard count > 0, let storage else { return nil }
        while true {
            let record = storage.base + head
            if record.load(fromByteOffset: 4, as: UInt32.self) != Kind.padding.rawValue { return record }
            let size = Int(record.load(as: UInt32.self))
            head = used == 0 ? 0 : (head + size) & (storage.capacity - 1)
            used -= size
        }
    }

    /// Releases the first record's `size` bytes.
    @inline(__always)
    private mutating func advance(by size: Int) {
        guard let storage else { return }
        count -= 1
        used -= size
        head = used == 0 ? 0 : (head + size) & (storage.capacity - 1)
    }

    /// Room for one record of `size` bytes (a multiple of 8), counted in ``count``.
    @inline(__always)
    private mutating func reserve(_ size: Int) -> UnsafeMutableRawPointer {
        if let storage, let at = place(size, in: storage) {
            count += 1
            return storage.base + at
        }
        grow(toFit: size)
        let at = place(size, in: storage!)!
        count += 1
        return storage!.base + at
    }

    /// Where a record of `size` bytes goes (writing padding to the end first if it must wrap),
    /// or nil when it does not fit.
    @inline(__always)
    private mutating func place(_ size: Int, in storage: CompactStorage) -> Int? {
        let capacity = storage.capacity
        if used == 0 {
            head = 0
            guard size <= capacity else { return nil }
            used = size
            return 0
        }
        guard used < capacity else { return nil }
        let tail = (head + used) & (capacity - 1)
        if tail > head {
            // Free space: from tail to the end, then from 0 to head.
            if capacity - tail >= size {
                used += size
                return tail
            }
            guard head >= size else { return nil }
            let padding = capacity - tail
            let filler = storage.base + tail
            filler.storeBytes(of: UInt32(truncatingIfNeeded: padding), as: UInt32.self)
            filler.storeBytes(of: Kind.padding.rawValue, toByteOffset: 4, as: UInt32.self)
            used += padding + size
            return 0
        }
        // Wrapped: the free space is from tail to head.
        guard head - tail >= size else { return nil }
        used += size
        return tail
    }

    /// Moves the records into storage at least twice as large that also fits `size` more bytes.
    private mutating func grow(toFit size: Int) {
        let old = storage
        var capacity = Swift.max(4096, (old?.capacity ?? 0) * 2)
        while capacity < used + size + 8 { capacity *= 2 }
        let grown = CompactStorage(capacity: capacity)
        var offset = 0
        if let old {
            var at = head
            var left = used
            while left > 0 {
                let record = old.base + at
                let recordSize = Int(record.load(as: UInt32.self))
                if record.load(fromByteOffset: 4, as: UInt32.self) != Kind.padding.rawValue {
                    (grown.base + offset).copyMemory(from: record, byteCount: recordSize)
                    offset += recordSize
                }
                at = (at + recordSize) & (old.capacity - 1)
                left -= recordSize
            }
        }
        storage = grown
        head = 0
        used = offset
    }
}

/// The bytes of a ``CompactRing``: a power-of-two buffer, freed with its last reference.
final class CompactStorage: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }
}

/// A worker's copy of the records it delivers next, taken from a ``CompactRing`` under the
/// mailbox lock and read without it.
///
/// The records are either copied in one after another (``append(_:byteCount:)``) or adopted
/// with a ring's whole storage (``adopt(_:start:length:count:)``), where they may wrap around its
/// end behind a padding record.
struct CompactBatch {
    private var storage: CompactStorage?
    /// Offset of the first record.
    private var start = 0
    /// Bytes in use from `start` (padding included), wrapping at the storage's end.
    private(set) var length = 0
    /// Records held (padding excluded).
    private(set) var count = 0

    /// Whether the batch holds no record.
    var isEmpty: Bool { length == 0 }

    @inline(__always)
    mutating func append(_ record: UnsafeRawPointer, byteCount: Int) {
        // Only on an empty batch or one built by appending (start 0, nothing wraps).
        if (storage?.capacity ?? 0) - length < byteCount { grow(toFit: byteCount) }
        (storage!.base + length).copyMemory(from: record, byteCount: byteCount)
        length += byteCount
        count += 1
    }

    /// Takes `count` records laying in `storage` from `start` over `length` bytes (a ring's
    /// storage, given up by the ring). The batch must be empty.
    /// - Returns: the batch's previous storage, for the ring to use next.
    mutating func adopt(_ storage: CompactStorage, start: Int, length: Int, count: Int) -> CompactStorage? {
        let previous = self.storage
        self.storage = storage
        self.start = start
        self.length = length
        self.count = count
        return previous
    }

    /// Empties the batch, keeping its storage unless a burst made it large.
    /// - Returns: the bytes released (0 when the storage was kept).
    @discardableResult
    mutating func removeAll() -> Int {
        start = 0
        length = 0
        count = 0
        guard let storage, storage.capacity > 1 << 20 else { return 0 }
        self.storage = nil
        return storage.capacity
    }

    /// Calls `body` with each record's address, size and kind in order, padding skipped, until
    /// it returns false.
    @inline(__always)
    private func walk(_ body: (UnsafeMutableRawPointer, CompactRing.Kind) -> Bool) {
        guard let storage else { return }
        let mask = storage.capacity - 1
        var at = start
        var left = length
        while left > 0 {
            let record = storage.base + at
            let size = Int(record.load(as: UInt32.self))
            left -= size
            at = (at + size) & mask
            let raw = record.load(fromByteOffset: 4, as: UInt32.self)
            if raw == CompactRing.Kind.padding.rawValue { continue }
            if !body(record, raw == CompactRing.Kind.event.rawValue ? .event : .boxed) { return }
        }
    }

    /// Calls `body` with each record in order: its kind and a C message laid out over its bytes
    /// (for a boxed record only the kind is meaningful). Stops when `body` returns false.
    /// - Returns: how many records `body` accepted.
    @inline(__always)
    func forEach(_ body: (CompactRing.Kind, UnsafePointer<jamey_message>) -> Bool) -> Int {
        var message = jamey_message()
        message.struct_size = UInt32(MemoryLayout<jamey_message>.size)
        var accepted = 0
        walk { record, kind in
            if kind == .event {
                let payloadLength = Int(record.load(fromByteOffset: 12, as: UInt32.self))
                message.payload = UnsafeRawPointer(record + CompactRing.headerSize)
                message.payload_len = payloadLength
                message.topic = UnsafePointer(
                    (record + CompactRing.headerSize + payloadLength).assumingMemoryBound(to: CChar.self))
                message.source = UnsafePointer(
                    bitPattern: record.load(fromByteOffset: 16, as: UInt.self))
            }
            guard withUnsafePointer(to: &message, { body(kind, $0) }) else { return false }
            accepted += 1
            return true
        }
        return accepted
    }

    /// The kinds of the records from the `skipping`-th on, counted: events and boxed.
    func remaining(skipping: Int) -> (events: Int, boxed: Int) {
        var index = 0
        var events = 0
        var boxed = 0
        walk { _, kind in
            if index >= skipping {
                if kind == .boxed { boxed += 1 } else { events += 1 }
            }
            index += 1
            return true
        }
        return (events, boxed)
    }

    private mutating func grow(toFit byteCount: Int) {
        var capacity = Swift.max(4096, (storage?.capacity ?? 0) * 2)
        while capacity < length + byteCount { capacity *= 2 }
        let grown = CompactStorage(capacity: capacity)
        if let storage, length > 0 { grown.base.copyMemory(from: storage.base, byteCount: length) }
        storage = grown
    }
}
