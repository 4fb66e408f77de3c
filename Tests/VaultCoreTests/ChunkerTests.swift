import Foundation
import Testing

@testable import VaultCore

@Suite struct ChunkerTests {
    let chunker = Chunker(seed: Data(repeating: 7, count: 32))

    @Test func sqlitePageSizeIsReadFromTheHeader() throws {
        var header = Data("SQLite format 3\0".utf8)
        header.append(contentsOf: [0x10, 0x00])
        header.append(Data(count: 4096 * 3 - header.count))
        #expect(Chunker.sqlitePageSize(header) == 4096)
        var big = header
        big[16] = 0
        big[17] = 1
        #expect(Chunker.sqlitePageSize(big + Data(count: 65536 - big.count)) == 65536)
        #expect(Chunker.sqlitePageSize(header.prefix(5000)) == nil)
        #expect(Chunker.sqlitePageSize(Data(count: 8192)) == nil)
    }

    @Test func aDatabaseIsCutOnEveryPage() throws {
        var file = Data("SQLite format 3\0".utf8) + Data([0x04, 0x00])
        file.append(Fixture.random(1024 * 10 - file.count))
        let (kind, ends) = chunker.boundaries(file)
        #expect(kind == .sqlitePages)
        #expect(ends == Array(stride(from: 1024, through: 10240, by: 1024)))
    }

    @Test func contentDefinedCutsSurviveAnInsertion() throws {
        let original = Fixture.random(12 << 20)
        var shifted = original
        shifted.insert(contentsOf: Fixture.random(100), at: 3 << 20)
        let a = chunker.boundaries(original).ends
        let b = chunker.boundaries(shifted).ends
        #expect(a.last == original.count)
        #expect(a.count >= 4)
        for (start, end) in zip([0] + a, a) { #expect(end - start <= 4 << 20) }
        // Boundaries after the insertion point are the same, shifted by 100 bytes.
        let after = Set(a.filter { $0 > 5 << 20 })
        let afterShifted = Set(b.filter { $0 > 5 << 20 }.map { $0 - 100 })
        #expect(!after.isEmpty)
        #expect(after == afterShifted)
    }

    @Test func anEmptyFileHasNoChunks() {
        #expect(chunker.boundaries(Data()).ends.isEmpty)
    }
}
