import ConscienceCore
import JameyPluginKit
import PluginReplies

extension Reply {
    /// The problem for an engine error: 400 invalid, 404 not found, 409 exists.
    static func problem(_ error: ConscienceError) -> Outgoing {
        switch error.code {
        case .notFound: problem(status: 404, slug: "not-found", detail: error.description)
        case .exists: problem(status: 409, slug: "conflict", detail: error.description)
        default: problem(status: 400, slug: "bad-request", detail: error.description)
        }
    }
}

extension RequestBody {
    /// The polarity member, nil when absent.
    /// - Throws: ``BodyError`` when present but not `virtue` or `prohibition`.
    func polarity() throws(BodyError) -> Polarity? {
        guard let text = try string("polarity") else { return nil }
        guard let polarity = Polarity(rawValue: text) else {
            throw BodyError("polarity: expected 'virtue' or 'prohibition', found '\(text.prefix(40))'")
        }
        return polarity
    }

    /// A rule's weight member, nil when absent.
    /// - Throws: ``BodyError`` when present but not a number.
    func weight() throws(BodyError) -> Double? { try number("weight", expected: "a number from 0 to 10") }
}
