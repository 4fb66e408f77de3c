import Foundation
import MemoryCore
import Testing

/// Item ids made a batch at a time.
@Suite struct ItemIDTests {
    @Test func idsAreDistinctLowerCaseVersion7UUIDsInOrder() throws {
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let ids = ItemID.make(1000)
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        #expect(ids.count == 1000)
        #expect(Set(ids).count == 1000)
        #expect(ids == ids.sorted())
        for id in ids {
            let uuid = try #require(UUID(uuidString: id))
            #expect(uuid.uuidString.lowercased() == id)
            let bytes = uuid.uuid
            #expect(bytes.6 >> 4 == 7)
            #expect(bytes.8 >> 6 == 0b10)
            // The first 48 bits: the time in milliseconds (one more, at most, per 2048 ids).
            let time = [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(time >= before && time <= after + 1)
        }
        #expect(ItemID.make(0).isEmpty)
    }

    /// A batch longer than its counter's room goes on into the next milliseconds, still in order
    /// and distinct; a later millisecond sorts after.
    @Test func aLongBatchStaysInOrderAcrossMilliseconds() throws {
        let ids = ItemID.make(10_000, milliseconds: 1_800_000_000_000)
        #expect(Set(ids).count == 10_000)
        #expect(ids == ids.sorted())
        #expect(ids.first!.hasPrefix("01a3185c-5000-7"))
        #expect(ItemID.make(1, milliseconds: 1_800_000_000_100)[0] > ids.last!)
    }
}
