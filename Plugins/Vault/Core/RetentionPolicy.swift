import Foundation

/// Which snapshots to keep, with restic's `forget` semantics: snapshots newest first; each rule
/// keeps the newest snapshot of each of its last N periods (hour, day, ISO week, month, year);
/// `keepLast` keeps the N newest; `keepWithin` keeps everything newer than the newest snapshot
/// minus the duration. A policy with no rule keeps everything.
public struct RetentionPolicy: Codable, Sendable, Equatable {
    public var keepLast = 0
    public var keepHourly = 0
    public var keepDaily = 0
    public var keepWeekly = 0
    public var keepMonthly = 0
    public var keepYearly = 0
    /// restic's duration syntax: `1y2m3d4h` (years, months, days, hours).
    public var keepWithin: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case keepLast = "keep_last", keepHourly = "keep_hourly", keepDaily = "keep_daily", keepWeekly = "keep_weekly"
        case keepMonthly = "keep_monthly", keepYearly = "keep_yearly", keepWithin = "keep_within"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        keepLast = try container.decodeIfPresent(Int.self, forKey: .keepLast) ?? 0
        keepHourly = try container.decodeIfPresent(Int.self, forKey: .keepHourly) ?? 0
        keepDaily = try container.decodeIfPresent(Int.self, forKey: .keepDaily) ?? 0
        keepWeekly = try container.decodeIfPresent(Int.self, forKey: .keepWeekly) ?? 0
        keepMonthly = try container.decodeIfPresent(Int.self, forKey: .keepMonthly) ?? 0
        keepYearly = try container.decodeIfPresent(Int.self, forKey: .keepYearly) ?? 0
        keepWithin = try container.decodeIfPresent(String.self, forKey: .keepWithin)
        _ = try withinComponents()
    }

    /// Checks the rules that `apply` would otherwise check only when there are snapshots to
    /// decide on (`keep_within`'s form).
    public func check() throws {
        _ = try withinComponents()
    }

    /// True when no rule is set (nothing is removed).
    public var isEmpty: Bool {
        [keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly].allSatisfy { $0 <= 0 } && keepWithin == nil
    }

    /// The decision for one snapshot.
    public struct Decision: Codable, Sendable, Equatable {
        /// The snapshot id.
        public var id: String
        /// When it was taken.
        public var time: Date
        /// Kept or removed.
        public var keep: Bool
        /// Why it is kept (`last snapshot`, `daily snapshot`, ...) or why it goes.
        public var reasons: [String]
    }

    /// Applies the policy to one group of snapshots (one node).
    /// - Parameters:
    ///   - snapshots: ids and times, any order.
    ///   - calendar: the time zone periods are counted in (restic uses the local zone; default UTC).
    public func apply(_ snapshots: [(id: String, time: Date)], calendar: Calendar = .utc) throws -> [Decision] {
        let list = snapshots.sorted { $0.time > $1.time }
        guard !isEmpty else { return list.map { Decision(id: $0.id, time: $0.time, keep: true, reasons: ["no policy"]) } }
        var buckets: [(count: Int, reason: String, key: (Date, Int) -> String, last: String?)] = [
            (keepLast, "last snapshot", { _, number in String(number) }, nil),
            (keepHourly, "hourly snapshot", { date, _ in calendar.periodKey(date, [.year, .month, .day, .hour]) }, nil),
            (keepDaily, "daily snapshot", { date, _ in calendar.periodKey(date, [.year, .month, .day]) }, nil),
            (keepWeekly, "weekly snapshot", { date, _ in calendar.isoWeekKey(date) }, nil),
            (keepMonthly, "monthly snapshot", { date, _ in calendar.periodKey(date, [.year, .month]) }, nil),
            (keepYearly, "yearly snapshot", { date, _ in calendar.periodKey(date, [.year]) }, nil),
        ]
        let within = try withinComponents()
        let limit = within.flatMap { components in list.first.flatMap { calendar.goAddDate(components, before: $0.time) } }
        var decisions: [Decision] = []
        for (number, snapshot) in list.enumerated() {
            var reasons: [String] = []
            if let limit, snapshot.time > limit, let text = keepWithin { reasons.append("within \(text)") }
            for index in buckets.indices where buckets[index].count != 0 {
                let value = buckets[index].key(snapshot.time, number)
                if value != buckets[index].last {
                    buckets[index].last = value
                    if buckets[index].count > 0 { buckets[index].count -= 1 }
                    reasons.append(buckets[index].reason)
                }
            }
            decisions.append(
                Decision(
                    id: snapshot.id, time: snapshot.time, keep: !reasons.isEmpty,
                    reasons: reasons.isEmpty ? ["matches no keep rule"] : reasons))
        }
        return decisions
    }

    /// Applies the policy to each source on its own (restic's grouping by paths, without groups
    /// left behind when a source is added): a snapshot is kept when the policy keeps it among the
    /// snapshots that hold one of its sources. A backup that missed a source (its plugin was
    /// stopped or failing) does not take that source's daily or last place: counted as one
    /// group, a day of such backups removed the day's complete one and with it the only copy of
    /// that plugin's data.
    /// - Parameter snapshots: ids, times and sources (none: a group of its own), any order.
    public func apply(bySource snapshots: [(id: String, time: Date, sources: [String])], calendar: Calendar = .utc) throws
        -> [Decision]
    {
        let list = snapshots.sorted { $0.time > $1.time }
        guard !isEmpty else { return list.map { Decision(id: $0.id, time: $0.time, keep: true, reasons: ["no policy"]) } }
        func groups(_ sources: [String]) -> [String] { sources.isEmpty ? [""] : sources }
        var kept: [String: [(source: String, reasons: [String])]] = [:]
        for name in Set(list.flatMap { groups($0.sources) }).sorted() {
            let members = list.filter { groups($0.sources).contains(name) }.map { (id: $0.id, time: $0.time) }
            for decision in try apply(members, calendar: calendar) where decision.keep {
                kept[decision.id, default: []].append((name, decision.reasons))
            }
        }
        return list.map { snapshot in
            guard let by = kept[snapshot.id] else {
                return Decision(id: snapshot.id, time: snapshot.time, keep: false, reasons: ["matches no keep rule"])
            }
            // Kept for every source alike: the plain reasons; else which source keeps it and why.
            let alike = by.count == groups(snapshot.sources).count && by.allSatisfy { $0.reasons == by[0].reasons }
            let reasons = alike ? by[0].reasons : by.flatMap { entry in entry.reasons.map { "\($0) of \(entry.source)" } }
            return Decision(id: snapshot.id, time: snapshot.time, keep: true, reasons: reasons)
        }
    }

    func withinComponents() throws -> DateComponents? {
        guard let text = keepWithin, !text.isEmpty else { return nil }
        var components = DateComponents(year: 0, month: 0, day: 0, hour: 0)
        var digits = ""
        // ASCII digits, 1 to 9 before each unit (the API schema's pattern).
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            guard digits.count <= 9, let value = Int(digits) else {
                throw VaultError(.badInput, "keep_within: '\(text)' must look like 1y2m3d4h")
            }
            switch character {
            case "y": components.year = value
            case "m": components.month = value
            case "d": components.day = value
            case "h": components.hour = value
            default: throw VaultError(.badInput, "keep_within: '\(text)' has unit '\(character)'; use y, m, d or h")
            }
            digits = ""
        }
        guard digits.isEmpty else { throw VaultError(.badInput, "keep_within: '\(text)' ends without a unit (y, m, d or h)") }
        return components
    }
}

extension Calendar {
    /// `date` minus years, months and days as Go's `AddDate` does it (the fields are subtracted,
    /// then the date normalised: March 31 minus one month is March 3), then minus the hours, as
    /// restic computes `keep-within`.
    func goAddDate(_ components: DateComponents, before date: Date) -> Date? {
        var fields = dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        fields.year = (fields.year ?? 0) - (components.year ?? 0)
        fields.month = (fields.month ?? 0) - (components.month ?? 0)
        fields.day = (fields.day ?? 0) - (components.day ?? 0)
        return self.date(from: fields)?.addingTimeInterval(-Double(components.hour ?? 0) * 3600)
    }
}

extension Calendar {
    /// The Gregorian calendar in UTC.
    public static var utc: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar
    }

    func periodKey(_ date: Date, _ units: Set<Calendar.Component>) -> String {
        let parts = dateComponents(units, from: date)
        return [parts.year, parts.month, parts.day, parts.hour].compactMap { $0 }.map(String.init).joined(separator: "-")
    }

    func isoWeekKey(_ date: Date) -> String {
        var iso = Calendar(identifier: .iso8601)
        iso.timeZone = timeZone
        let parts = iso.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
        return "\(parts.yearForWeekOfYear ?? 0)-\(parts.weekOfYear ?? 0)"
    }
}
