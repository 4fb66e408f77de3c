extension Duration {
    /// The duration in seconds, as a floating-point number.
    package var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds (rounded to the nearest), at least 0.
    package var milliseconds: Int64 {
        let (s, attoseconds) = components
        return max(0, s * 1000 + (attoseconds + 500_000_000_000_000) / 1_000_000_000_000_000)
    }
}
