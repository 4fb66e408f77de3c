import Testing

@testable import CacheCore

/// What outlives a process or crosses between nodes: stable hashes, the serialized sketch, and
/// the sequence numbers of invalidation messages.
@Suite struct PersistenceTests {
    @Test func stableHashIsFNV1a64() {
        // Published FNV-1a 64 test vectors: the same in every process, unlike Hasher.
        #expect(StableHash.of("") == 0xCBF2_9CE4_8422_2325)
        #expect(StableHash.of("a") == 0xAF63_DC4C_8601_EC8C)
        #expect(StableHash.of("foobar") == 0x8594_4171_F739_67E8)
    }

    @Test func aSerializedSketchRestoresItsEstimates() {
        var sketch = FrequencySketch(capacity: 256)
        for i in 0..<100 { for _ in 0..<(i % 12) { sketch.increment(StableHash.of("key\(i)")) } }
        let bytes = sketch.serialized()
        var restored = FrequencySketch(capacity: 256)
        let took = restored.restore(bytes)
        #expect(took)
        for i in 0..<100 {
            let h = StableHash.of("key\(i)")
            #expect(restored.frequency(h) == sketch.frequency(h))
        }
        var other = FrequencySketch(capacity: 4096)
        let refused = other.restore(bytes)
        #expect(!refused, "a sketch of another size is refused")
        #expect(other.frequency(StableHash.of("key11")) == 0, "and left as it was")
        let truncated = restored.restore(Array(bytes.dropLast()))
        #expect(!truncated)
        let wrongMagic = restored.restore(Array("JFS0".utf8) + bytes.dropFirst(4))
        #expect(!wrongMagic)
    }

    @Test func recordedAccessesCountInTheAdmissionSketch() {
        let policy = TinyLFUPolicy(capacity: 100)
        let hash = StableHash.of("warm")
        #expect(policy.frequency(hash) == 0)
        policy.recordAccesses(hash: hash, count: 6)
        #expect(policy.frequency(hash) == 6)
        policy.recordAccesses(hash: hash, count: 100)
        #expect(policy.frequency(hash) == 15, "4-bit counters")
    }

    @Test func sequencesTellInOrderRepeatsAndGaps() {
        var seen = InvalidationSequence()
        var observed = seen.observe(sender: "a", sequence: 1)
        #expect(observed == .inOrder)
        observed = seen.observe(sender: "a", sequence: 2)
        #expect(observed == .inOrder)
        observed = seen.observe(sender: "a", sequence: 2)
        #expect(observed == .repeated)
        observed = seen.observe(sender: "a", sequence: 5)
        #expect(observed == .gap(missed: 2))
        observed = seen.observe(sender: "a", sequence: 3)
        #expect(observed == .repeated, "late: applied again, harmless")
        observed = seen.observe(sender: "b", sequence: 40)
        #expect(observed == .first, "joined late: nothing known before")
        observed = seen.observe(sender: "b", sequence: 41)
        #expect(observed == .inOrder)
        #expect(seen.senders == 2)
    }

    /// At most `limit` senders are followed: past it the least recently heard quarter goes, and
    /// one heard again starts over; a sender heard lately keeps its numbers (a gap still shows).
    @Test func sequencesFollowABoundedNumberOfSenders() {
        var seen = InvalidationSequence(limit: 8)
        _ = seen.observe(sender: "kept", sequence: 1)
        for i in 0..<100 {
            _ = seen.observe(sender: "run-\(i)", sequence: 1)
            _ = seen.observe(sender: "kept", sequence: UInt64(i) + 2)
            #expect(seen.senders <= 8)
        }
        #expect(seen.observe(sender: "kept", sequence: 104) == .gap(missed: 2))
        #expect(seen.observe(sender: "run-0", sequence: 7) == .first, "forgotten: starts over")
    }
}
