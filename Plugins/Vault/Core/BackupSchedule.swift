import Foundation

/// When backups run: the first soon after start, then every `interval`, or every day at a time.
public struct BackupSchedule: Sendable, Equatable {
    /// Seconds between backups (used when `dailyAt` is nil); nil or 0 turns the schedule off.
    public var interval: TimeInterval?
    /// Hour and minute (UTC) of the daily backup; overrides `interval`.
    public var dailyAt: (hour: Int, minute: Int)?
    /// Delay before the first backup after start.
    public var firstDelay: TimeInterval

    public init(interval: TimeInterval?, dailyAt: (hour: Int, minute: Int)?, firstDelay: TimeInterval) {
        self.interval = interval
        self.dailyAt = dailyAt
        self.firstDelay = firstDelay
    }

    public static func == (lhs: BackupSchedule, rhs: BackupSchedule) -> Bool {
        lhs.interval == rhs.interval && lhs.dailyAt?.hour == rhs.dailyAt?.hour && lhs.dailyAt?.minute == rhs.dailyAt?.minute
            && lhs.firstDelay == rhs.firstDelay
    }

    /// Parses `HH:MM` (24-hour, UTC); an empty text is no daily time. The error names `field`.
    public static func parseDaily(_ text: String, field: String) throws -> (hour: Int, minute: Int)? {
        guard !text.isEmpty else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0..<24).contains(hour),
            (0..<60).contains(minute)
        else { throw VaultError(.badInput, "\(field): '\(text)' must be HH:MM (24-hour, UTC), e.g. 03:30") }
        return (hour, minute)
    }

    /// True when backups run at all.
    public var isEnabled: Bool { dailyAt != nil || (interval ?? 0) > 0 }

    /// The first backup: `firstDelay` after start, whatever the period (not one interval later).
    public func first(after start: Date) -> Date? {
        isEnabled ? start.addingTimeInterval(firstDelay) : nil
    }

    /// The backup after one that ran (or was due) at `last`.
    public func next(after last: Date, calendar: Calendar = .utc) -> Date? {
        if let dailyAt {
            let today = calendar.date(bySettingHour: dailyAt.hour, minute: dailyAt.minute, second: 0, of: last) ?? last
            return today > last ? today : calendar.date(byAdding: .day, value: 1, to: today)
        }
        guard let interval, interval > 0 else { return nil }
        return last.addingTimeInterval(interval)
    }
}
