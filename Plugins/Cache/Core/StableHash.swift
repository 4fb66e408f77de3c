/// Hashes that are the same in every process (Swift's `Hasher` is seeded per process), for state
/// that outlives one: the persisted frequency sketch.
public enum StableHash {
    /// FNV-1a, 64 bits, over the UTF-8 bytes of `text` (the sketch mixes it further).
    public static func of(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }
}
