import ConscienceCore
import Foundation
import GRDB

/// One row of the `rules` table.
struct RuleRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "rules"

    var name: String
    var description: String
    /// The keywords as a JSON array of strings.
    var keywords: String
    var weight: Double
    var polarity: String
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case name, description, keywords, weight, polarity
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// The row for `rule`.
    init(_ rule: MoralRule, createdAt: Date, updatedAt: Date) {
        name = rule.name
        description = rule.description
        let data = (try? JSONEncoder().encode(rule.keywords)) ?? Data("[]".utf8)
        keywords = String(decoding: data, as: UTF8.self)
        weight = rule.weight
        polarity = rule.polarity.rawValue
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The rule this row holds (``MoralRule/init(stored:description:keywords:weight:polarity:)``:
    /// no input limits); nil for a row no rule can come from (a restored file edited by hand:
    /// a bad name, weight, polarity or keyword list), which is skipped.
    var rule: MoralRule? {
        guard let polarity = Polarity(rawValue: polarity),
            let words = try? JSONDecoder().decode([String].self, from: Data(keywords.utf8))
        else { return nil }
        return try? MoralRule(stored: name, description: description, keywords: words, weight: weight, polarity: polarity)
    }
}
