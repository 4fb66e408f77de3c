import CacheCore
import Testing

@Suite struct RecentLoadsTests {
    @Test func keysAreMatchedByKeyOrPrefixWithinTheWindow() {
        var recent = RecentLoads(window: 1000, capacity: 8)
        recent.note("user:1", now: 0)
        recent.note("user:2", now: 10)
        recent.note("team:1", now: 20)
        #expect(recent.matching(key: "user:1", prefix: nil, now: 30) == ["user:1"])
        #expect(recent.matching(key: nil, prefix: "user:", now: 30) == ["user:1", "user:2"])
        #expect(recent.matching(key: nil, prefix: "", now: 30) == ["user:1", "user:2", "team:1"])
        #expect(recent.matching(key: "nobody", prefix: nil, now: 30) == [])
        // user:1 was noted at 0: at 1000 it has aged out, user:2 (10) has not.
        #expect(recent.matching(key: nil, prefix: "user:", now: 1000) == ["user:2"])
        #expect(recent.matching(key: nil, prefix: "", now: 5000) == [])
        #expect(recent.count == 0)
    }

    /// Keys are matched by their bytes, as Redis matches them: "cafe" is a prefix of
    /// "cafe\u{301}-1", and the two normal forms of "é" are two keys (as `String`s, neither).
    @Test func keysAreMatchedByTheirBytes() {
        var recent = RecentLoads(window: 1000, capacity: 8)
        recent.note("cafe\u{301}-1", now: 0)
        recent.note("\u{e9}", now: 1)
        recent.note("e\u{301}", now: 2)
        #expect(recent.matching(key: nil, prefix: "cafe", now: 10) == ["cafe\u{301}-1"])
        #expect(recent.matching(key: "\u{e9}", prefix: nil, now: 10)?.map(\.text) == ["\u{e9}"])
        #expect(recent.matching(key: nil, prefix: "e", now: 10)?.map { Array($0.text.utf8) } == [Array("e\u{301}".utf8)])
    }

    /// A key dropped for room while still inside the window leaves the record unable to say what
    /// this node put: every match answers nil (delete all) until that key would have aged out.
    @Test func anOverflowWithinTheWindowAnswersNilUntilItAgesOut() {
        var recent = RecentLoads(window: 1000, capacity: 3)
        for (i, t) in [0, 100, 200].enumerated() { recent.note("k\(i)", now: Int64(t)) }
        #expect(recent.matching(key: "k0", prefix: nil, now: 300) == ["k0"])
        recent.note("k3", now: 300)
        #expect(recent.count == 3)
        #expect(recent.matching(key: "k3", prefix: nil, now: 400) == nil, "k0 (noted at 0) was forgotten too early")
        #expect(recent.matching(key: nil, prefix: "k", now: 999) == nil)
        #expect(recent.matching(key: nil, prefix: "k", now: 1000) == ["k1", "k2", "k3"])
        // Room made by keys already out of the window is no loss.
        recent.note("k4", now: 1310)
        recent.note("k5", now: 1320)
        recent.note("k6", now: 1330)
        #expect(recent.matching(key: nil, prefix: "k", now: 1340) == ["k4", "k5", "k6"])
    }
}
