import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Timestamps for log lines, formatted without Foundation.
enum LogTime {
    /// The local-time text of the current second (`2026-11-24T22:26:13`) and its offset
    /// (`+0000`), formatted once per second rather than once per line.
    private static let second = Mutex<(second: Int, text: String, offset: String)>((-1, "", ""))

    /// Appends local time as `2026-11-24T22:26:13.412+0000`, as UTF-8 bytes.
    static func appendLocal(to out: inout [UInt8]) {
        let (text, millis, offset) = localNow()
        out.append(contentsOf: text.utf8)
        out.append(46)
        out.append(48 + UInt8(millis / 100))
        out.append(48 + UInt8(millis / 10 % 10))
        out.append(48 + UInt8(millis % 10))
        out.append(contentsOf: offset.utf8)
    }

    /// The current second's text, the milliseconds, and the offset.
    private static func localNow() -> (String, Int, String) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let now = Int(ts.tv_sec)
        let (text, offset) = second.withLock { cache -> (String, String) in
            if cache.second != now {
                var t = time_t(ts.tv_sec)
                var tm = tm()
                localtime_r(&t, &tm)
                var text = ""
                appendSeconds(tm, to: &text)
                let minutes = tm.tm_gmtoff / 60
                var offset = minutes < 0 ? "-" : "+"
                pad(Int(abs(minutes) / 60), 2, &offset)
                pad(Int(abs(minutes) % 60), 2, &offset)
                cache = (now, text, offset)
            }
            return (cache.text, cache.offset)
        }
        return (text, Int(ts.tv_nsec / 1_000_000), offset)
    }

    /// Appends UTC as `2026-11-24T22:26:13.412Z`.
    static func appendUTC(to out: inout String) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tm = tm()
        gmtime_r(&t, &tm)
        append(tm, millis: Int(ts.tv_nsec / 1_000_000), to: &out)
        out += "Z"
    }

    private static func append(_ tm: tm, millis: Int, to out: inout String) {
        appendSeconds(tm, to: &out)
        out += "."
        pad(millis, 3, &out)
    }

    private static func appendSeconds(_ tm: tm, to out: inout String) {
        pad(Int(tm.tm_year) + 1900, 4, &out)
        out += "-"
        pad(Int(tm.tm_mon) + 1, 2, &out)
        out += "-"
        pad(Int(tm.tm_mday), 2, &out)
        out += "T"
        pad(Int(tm.tm_hour), 2, &out)
        out += ":"
        pad(Int(tm.tm_min), 2, &out)
        out += ":"
        pad(Int(tm.tm_sec), 2, &out)
    }

    private static func pad(_ value: Int, _ width: Int, _ out: inout String) {
        let digits = String(value)
        for _ in digits.utf8.count..<max(width, digits.utf8.count) { out += "0" }
        out += digits
    }
}
