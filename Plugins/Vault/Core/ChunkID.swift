import Crypto
import Dispatch
import Foundation

/// A chunk's address: HMAC-SHA256 of its plaintext under the repository's chunk key, so the backup
/// host cannot confirm a guess about the content.
public struct ChunkID: Hashable, Sendable, Comparable, CustomStringConvertible {
    let a: UInt64, b: UInt64, c: UInt64, d: UInt64

    init(_ bytes: some ContiguousBytes) {
        (a, b, c, d) = bytes.withUnsafeBytes { raw in
            (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            )
        }
    }

    /// The 32 bytes.
    public var bytes: Data {
        var data = Data(capacity: 32)
        for word in [a, b, c, d] { withUnsafeBytes(of: word) { data.append(contentsOf: $0) } }
        return data
    }

    public var description: String { bytes.hex }

    /// Byte order (the words hold the bytes little-endian, so compare them byte-swapped).
    public static func < (lhs: ChunkID, rhs: ChunkID) -> Bool {
        (lhs.a.byteSwapped, lhs.b.byteSwapped, lhs.c.byteSwapped, lhs.d.byteSwapped)
            < (rhs.a.byteSwapped, rhs.b.byteSwapped, rhs.c.byteSwapped, rhs.d.byteSwapped)
    }

    /// Splits a concatenation of 32-byte ids.
    static func list(_ data: Data) throws -> [ChunkID] {
        guard data.count % 32 == 0 else { throw VaultError(.badInput, "chunk list length \(data.count) is not a multiple of 32") }
        return stride(from: 0, to: data.count, by: 32).map { ChunkID(data[data.startIndex + $0..<data.startIndex + $0 + 32]) }
    }

    /// Concatenates ids.
    static func join(_ ids: [ChunkID]) -> Data {
        var data = Data(capacity: ids.count * 32)
        for id in ids { data.append(id.bytes) }
        return data
    }
}

extension ChunkHasher {
    /// The ids of chunks `first..<last` of `data` (chunk `i` ends at `ends[i]`), computed on
    /// `stripes` threads at once.
    func ids(_ data: Data, ends: [Int], _ chunks: Range<Int>, stripes: Int) -> [ChunkID] {
        let stripes = max(1, min(stripes, chunks.count))
        let results = ParallelSlots<[ChunkID]>(count: stripes)
        let per = (chunks.count + stripes - 1) / stripes
        DispatchQueue.concurrentPerform(iterations: stripes) { job in
            let first = chunks.lowerBound + job * per
            let last = min(chunks.upperBound, first + per)
            guard first < last else { return results.set(job, []) }
            results.set(job, ids(data, ends: ends, first..<last))
        }
        return results.values.flatMap { $0 ?? [] }
    }

    /// The ids of chunks `range` of `data`, on this thread: one HMAC key setup, copied per chunk.
    func ids(_ data: Data, ends: [Int], _ range: Range<Int>) -> [ChunkID] {
        let template = keyed.mac
        var ids: [ChunkID] = []
        ids.reserveCapacity(range.count)
        data.withUnsafeBytes { raw in
            var start = range.lowerBound == 0 ? 0 : ends[range.lowerBound - 1]
            for index in range {
                var mac = template
                mac.update(data: UnsafeRawBufferPointer(rebasing: raw[start..<ends[index]]))
                ids.append(ChunkID(mac.finalize()))
                start = ends[index]
            }
        }
        return ids
    }
}

/// Runs `body(0..<count)` on up to `width` threads at once and waits for all: more threads than
/// cores where jobs block on I/O (reading packs, direct writes), so the cores stay busy meanwhile.
func parallelFor(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    let slots = DispatchSemaphore(value: max(1, width))
    for index in 0..<count {
        slots.wait()
        DispatchQueue.global().async(group: group) {
            body(index)
            slots.signal()
        }
    }
    group.wait()
}

/// Result slots filled by parallel jobs, each slot by one job.
final class ParallelSlots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Value?]

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func set(_ index: Int, _ value: Value) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    var values: [Value?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}

/// The first 16 bytes of a chunk id: what manifests list in the clear for prune.
public struct ChunkPrefix: Hashable, Sendable {
    let a: UInt64, b: UInt64

    init(_ id: ChunkID) {
        (a, b) = (id.a, id.b)
    }

    init(_ data: Data, at offset: Int) {
        let id = ChunkID(data[data.startIndex + offset..<data.startIndex + offset + 16] + Data(count: 16))
        (a, b) = (id.a, id.b)
    }

    /// Sorted, concatenated prefixes of `ids`.
    static func join(_ ids: some Sequence<ChunkID>) -> Data {
        var data = Data()
        for id in ids.sorted() {
            withUnsafeBytes(of: id.a) { data.append(contentsOf: $0) }
            withUnsafeBytes(of: id.b) { data.append(contentsOf: $0) }
        }
        return data
    }
}

/// Computes chunk ids with the repository's chunk key.
public struct ChunkHasher: Sendable {
    let keyBytes: Data
    var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    /// An HMAC with the key already absorbed; each chunk copies it (copy on write).
    private let keyed: Keyed

    /// Immutable once made; copies of the HMAC state are taken, never mutated in place.
    struct Keyed: @unchecked Sendable {
        let mac: HMAC<SHA256>
    }

    public init(key: Data) {
        keyBytes = key
        keyed = Keyed(mac: HMAC<SHA256>(key: SymmetricKey(data: key)))
    }

    /// The id of `chunk`.
    public func id(_ chunk: some DataProtocol) -> ChunkID {
        var mac = keyed.mac
        mac.update(data: chunk)
        return ChunkID(mac.finalize())
    }

    /// A MAC over `data` (index files), under a key derived from the chunk key.
    func mac(_ data: some DataProtocol) -> Data {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key, salt: Data(), info: Data("jamey-vault index".utf8), outputByteCount: 32)
        return Data(HMAC<SHA256>.authenticationCode(for: data, using: derived))
    }
}

extension Data {
    /// Lower-case hexadecimal.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The SHA-256 digest in hex.
    public var sha256Hex: String { Data(SHA256.hash(data: self)).hex }
}
