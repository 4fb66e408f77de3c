/// An admission and eviction policy over slots: small integers the owning cache hands out, one per
/// resident entry. The policy keeps only per-slot metadata (links, weight, hash); the cache keeps
/// keys and values. Bounded by weight (bytes in the L1, sizes in a trace).
///
/// Not thread-safe: the owner serialises calls.
public protocol EvictionPolicy: AnyObject {
    /// The weight the policy keeps resident at most.
    var capacity: Int { get }
    /// The total weight of resident slots.
    var weight: Int { get }
    /// Records a read that found `slot` resident.
    func hit(_ slot: Int32)
    /// Records a read of a key that was not resident (admission policies count it).
    func miss(hash: UInt64)
    /// Adds `slot` and appends to `evicted` every slot that must leave to stay within capacity;
    /// `slot` itself is among them when the policy refuses to admit it.
    func insert(_ slot: Int32, hash: UInt64, weight: Int, evicted: inout [Int32])
    /// Takes `slot` out (deleted, expired or replaced).
    func remove(_ slot: Int32)
    /// Per-entry metadata in bytes (links, weight, hash, flags).
    var bytesPerEntry: Int { get }
    /// Metadata kept apart from the entries, in bytes (a frequency sketch); 0 when none.
    var sharedBytes: Int { get }
    /// How many of the slots evicted so far were new entries the admission policy turned away
    /// (a candidate that lost to the victim), not resident entries pushed out.
    var admissionsRefused: Int { get }
    /// Counts `count` accesses of a key in the admission sketch without reading it (warming after
    /// a restart: what was hot before competes for admission as hot).
    func recordAccesses(hash: UInt64, count: Int)
    /// Records a batch of reads in order: the same as calling `hit` or `miss` for each (a policy
    /// may reorder work that does not interact, to overlap its memory accesses).
    func replay(_ reads: UnsafeBufferPointer<PolicyRead>)
}

/// A read the cache reports to its policy: a hit on `slot`, or a miss (`slot` -1) of a key with `hash`.
public struct PolicyRead: Sendable {
    /// The slot read, or -1 for a miss.
    public var slot: Int32
    /// The key's hash (the one the slot was inserted with, for a hit).
    public var hash: UInt64

    public init(slot: Int32, hash: UInt64) {
        self.slot = slot
        self.hash = hash
    }
}

extension EvictionPolicy {
    public func miss(hash: UInt64) {}
    public func replay(_ reads: UnsafeBufferPointer<PolicyRead>) {
        for read in reads {
            if read.slot >= 0 { hit(read.slot) } else { miss(hash: read.hash) }
        }
    }
    public var admissionsRefused: Int { 0 }
    public var sharedBytes: Int { 0 }
    public func recordAccesses(hash: UInt64, count: Int) {}
}

/// The policies a cache or the simulator can use, by name.
public struct PolicyKind: Hashable, Sendable, CustomStringConvertible {
    private enum Code: String, CaseIterable { case lru, sieve, s3fifo = "s3-fifo", tinylfu = "w-tinylfu" }
    private let code: Code

    /// Least recently used.
    public static let lru = PolicyKind(code: .lru)
    /// SIEVE (Zhang et al., NSDI 2024).
    public static let sieve = PolicyKind(code: .sieve)
    /// S3-FIFO (Yang et al., SOSP 2023).
    public static let s3fifo = PolicyKind(code: .s3fifo)
    /// Window TinyLFU with an adaptive window (the default).
    public static let tinyLFU = PolicyKind(code: .tinylfu)

    /// Every policy name, for error messages and help.
    public static let names = Code.allCases.map(\.rawValue)

    /// Parses a name (`lru`, `sieve`, `s3-fifo`, `w-tinylfu`; case-insensitive; `s3fifo`, `tinylfu` too).
    public init?(name: String) {
        let n = name.lowercased()
        switch n {
        case "s3fifo": code = .s3fifo
        case "tinylfu", "wtinylfu": code = .tinylfu
        default:
            guard let c = Code(rawValue: n) else { return nil }
            code = c
        }
    }

    private init(code: Code) { self.code = code }

    public var description: String { code.rawValue }

    /// A new policy of this kind holding at most `capacity` weight.
    /// - Parameter expectedEntries: how many entries fit, for sizing W-TinyLFU's frequency sketch and
    ///   S3-FIFO's ghost (default: `capacity`, right when every entry weighs 1; a byte-bounded
    ///   cache passes bytes ÷ a typical size).
    public func make(capacity: Int, expectedEntries: Int? = nil) -> any EvictionPolicy {
        switch code {
        case .lru: LRUPolicy(capacity: capacity)
        case .sieve: SievePolicy(capacity: capacity)
        case .s3fifo: S3FIFOPolicy(capacity: capacity, expectedEntries: expectedEntries)
        case .tinylfu: TinyLFUPolicy(capacity: capacity, expectedEntries: expectedEntries)
        }
    }
}
