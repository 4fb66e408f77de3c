#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The monotonic clock, read directly (`clock_gettime(CLOCK_MONOTONIC)`), in nanoseconds.
public enum Clock {
    /// Now, in nanoseconds since an arbitrary fixed point.
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }
}

/// Percentiles of a set of samples.
public enum Percentile {
    /// The `p`-th percentile (0...100) of `samples` by nearest rank; 0 when empty.
    public static func of(_ samples: [UInt64], _ p: Double) -> UInt64 {
        guard !samples.isEmpty else { return 0 }
        return sorted(samples.sorted(), p)
    }

    /// The `p`-th percentile of already sorted samples.
    public static func sorted(_ sorted: [UInt64], _ p: Double) -> UInt64 {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
