import Foundation
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
    /// expiry or none, and integral and fractional numbers; `variant` shifts which hit gets what.
    static func hits(_ count: Int, variant: Int) -> [SearchHit] {
        let texts = [
            "plain words", "quote \" and backslash \\ inside", "tab\tnew\nline\r", "café über 東京 🚀",
            "\u{01}\u{1f} control", "",
        ]
        return (0..<count).map { index in
            let k = index &* 7 &+ variant &* 13
            let created = Date(timeIntervalSince1970: 1.6e9 + Double(k) * 7_919.123_456)
            let links = (0..<(k % 3)).map {
                MemoryLink(kind: $0 == 0 ? "entity" : "item", target: "t\($0)\"x", relation: $0 == 0 ? "" : "about")
            }
            let item = MemoryItem(
                id: "01JX\(k)", layer: MemoryLayer.all[k % 5], content: texts[k % texts.count],
                tags: Array(texts[(k % 4)..<min(texts.count, k % 4 + k % 3)]), source: k % 2 == 0 ? "test" : "sö\"urce",
                importance: [0, 0.5, 1, 0.123_456_789][k % 4], createdAt: created,
                lastAccessedAt: created.addingTimeInterval(Double(k % 97) * 1_000.001), accessCount: k % 1_001,
                expiresAt: k % 2 == 0 ? created.addingTimeInterval(3_600.5) : nil, pinned: k % 3 == 0)
            return SearchHit(
                seq: Int64(index), item: item, links: links, score: [1, 0.25, -3.5, 12.062_5][k % 4],
                bm25: -Double(k % 19) * 1.037)
        }
    }

    @Test func theSearchReplyIsTheDictionariesJSONByteForByte() throws {
        for round in 0..<200 {
            let hits = Self.hits(round % 12, variant: round)
            let reply = Replies.hitsReply(hits)
            #expect(reply.payload == Self.reference(hits), "round \(round)")
            #expect(reply.headers["status"] == "200")
        }
        // Parses as JSON with the fields a caller reads.
        let hits = Self.hits(3, variant: 1)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(Replies.hitsReply(hits).payload)) as? [String: Any])
        let first = try #require((parsed["hits"] as? [[String: Any]])?.first)
        #expect((first["item"] as? [String: Any])?["content"] as? String == hits[0].item.content)
    }

    @Test func theBatchStoreReplyIsTheDictionariesJSONByteForByte() {
        for round in 0..<100 {
            let outcomes = Self.hits(round % 9, variant: round).enumerated().map {
                let links = (0..<($0.offset + round) % 3).map {
                    MemoryLink(kind: $0 == 0 ? "entity" : "item", target: "target \"\($0)\"", relation: $0 == 1 ? "" : "knows")
                }
                return StoreOutcome(item: $0.element.item, merged: ($0.offset + round) % 3 == 0, links: links)
            }
            let reference = Replies.json(
                ["results": outcomes.map { ["item": Replies.item($0.item, links: $0.links), "merged": $0.merged] }],
                status: 201)
            let reply = Replies.storedReply(outcomes)
            #expect(reply.payload == reference.payload, "round \(round)")
            #expect(reply.headers["status"] == "201")
        }
    }

    @Test func aScoreThatIsNoNumberGivesAnEmptyObjectAsTheDictionariesDo() {
        var hits = Self.hits(2, variant: 2)
        hits[1].score = .nan
        #expect(Replies.hitsReply(hits).payload == Array("{}".utf8))
        #expect(Self.reference(hits) == Array("{}".utf8))
    }
}
