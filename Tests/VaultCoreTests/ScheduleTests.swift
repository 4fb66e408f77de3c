import Foundation
import Testing
import VaultCore

@Suite struct ScheduleTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14T22:13:20Z

    @Test func theFirstBackupIsSoonAfterStartNotOneIntervalLater() {
        let schedule = BackupSchedule(interval: 86_400, dailyAt: nil, firstDelay: 60)
        #expect(schedule.first(after: start) == start.addingTimeInterval(60))
        #expect(schedule.next(after: start) == start.addingTimeInterval(86_400))
    }

    @Test func aDailyTimeRunsAtThatTimeEachDay() throws {
        let daily = try BackupSchedule.parseDaily("03:30", field: "daily_at")
        let schedule = BackupSchedule(interval: 3600, dailyAt: daily, firstDelay: 30)
        let next = try #require(schedule.next(after: start))
        #expect(ISO8601DateFormatter().string(from: next) == "2023-11-15T03:30:00Z")
        let after = try #require(schedule.next(after: next))
        #expect(after.timeIntervalSince(next) == 86_400)
    }

    @Test func aBadDailyTimeNamesTheField() {
        let error = #expect(throws: VaultError.self) { try BackupSchedule.parseDaily("25:00", field: "schedule.daily_at") }
        #expect(error?.message.contains("schedule.daily_at") == true)
    }

    @Test func noIntervalAndNoTimeIsOff() {
        let schedule = BackupSchedule(interval: 0, dailyAt: nil, firstDelay: 60)
        #expect(!schedule.isEnabled)
        #expect(schedule.first(after: start) == nil)
    }
}
