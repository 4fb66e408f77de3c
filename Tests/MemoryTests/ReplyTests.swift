import Foundation
import JameyTestKit
import MemoryCore
import Testing

@testable import MemoryPlugin

/// The search reply written field by field is the JSON the same hits give as dictionaries
/// (``Replies/item(_:links:)`` inside `{"hits": [{"bm25", "item", "score"}]}`), byte for byte.
@Suite struct ReplyTests {
    /// The reply as dictionaries, the way every other memory reply is built.
    static func reference(_ hits: [SearchHit]) -> [UInt8] {
        let object: [String: Any] = [
            "hits": hits.map { ["item": Replies.item($0.item, links: $0.links), "score": $0.score, "bm25": $0.bm25] }
        ]
        return Replies.json(object).payload
    }

    /// Hits with texts that need escaping, non-ASCII, no tags or several, links or none, an
    /// expiry or none, and integral and fractional numbers.
    static func randomHits(_ generator: inout some RandomNumberGenerator, count: Int) -> [SearchHit] {
        let texts = [
            "plain words", "quote \" and backslash \\ inside", "tab\tnew\nline\r", "café über 東京 🚀", "\u{01}\u{1f} control",
            "",
        ]
        return (0..<count).map { index in
            let created = Date(timeIntervalSince1970: Double.random(in: 1.6e9..<1.9e9, using: &generator))
            var item = MemoryItem(
                id: "01JX\(index)", layer: MemoryLayer.all.randomElement(using: &generator)!,
                content: texts.randomElement(using: &generator)!,
                tags: Array(texts.shuffled(using: &generator).prefix(Int.random(in: 0...3, using: &generator))),
                source: Bool.random(using: &generator) ? "test" : "sö\"urce", importance: [0, 0.5, 1, 0.123456789][index % 4],
                createdAt: created)
            item.lastAccessedAt = created.addingTimeInterval(Double.random(in: 0..<1e5, using: &generator))
            item.accessCount = Int.random(in: 0...1000, using: &generator)
            item.expiresAt = Bool.random(using: &generator) ? created.addingTimeInterval(3600.5) : nil
            item.pinned = Bool.random(using: &generator)
            let links = (0..<Int.random(in: 0...2, using: &generator)).map {
                MemoryLink(kind: $0 == 0 ? "entity" : "item", target: "t\($0)\"x", relation: $0 == 0 ? "" : "about")
            }
            return SearchHit(
                seq: Int64(index), item: item, links: links, score: [1, 0.25, -3.5, 12.0625][index % 4],
                bm25: -Double.random(in: 0..<20, using: &generator))
        }
    }

    @Test func theSearchReplyIsTheDictionariesJSONByteForByte() throws {
        var generator = SeededRandom(seed: 7)
        for round in 0..<200 {
            let hits = Self.randomHits(&generator, count: round % 12)
            let reply = Replies.hitsReply(hits)
            #expect(reply.payload == Self.reference(hits), "round \(round)")
            #expect(reply.headers["status"] == "200")
        }
        // Parses as JSON with the fields a caller reads.
        let hits = Self.randomHits(&generator, count: 3)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(Replies.hitsReply(hits).payload)) as? [String: Any])
        let first = try #require((parsed["hits"] as? [[String: Any]])?.first)
        #expect((first["item"] as? [String: Any])?["content"] as? String == hits[0].item.content)
    }

    @Test func aScoreThatIsNoNumberGivesAnEmptyObjectAsTheDictionariesDo() {
        var generator = SeededRandom(seed: 8)
        var hits = Self.randomHits(&generator, count: 2)
        hits[1].score = .nan
        #expect(Replies.hitsReply(hits).payload == Array("{}".utf8))
        #expect(Self.reference(hits) == Array("{}".utf8))
    }
}
