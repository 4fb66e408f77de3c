import Foundation
import MemoryCore
import Testing

/// Item ids made a batch at a time.
@Suite struct ItemIDTests {
    @Test func idsAreDistinctLowerCaseVersion4UUIDs() throws {
        let ids = ItemID.make(1000)
        #expect(ids.count == 1000)
        #expect(Set(ids).count == 1000)
        for id in ids {
            let uuid = try #require(UUID(uuidString: id))
            #expect(uuid.uuidString.lowercased() == id)
            let bytes = uuid.uuid
            #expect(bytes.6 >> 4 == 4)
            #expect(bytes.8 >> 6 == 0b10)
        }
        #expect(ItemID.make(0).isEmpty)
    }
}
