/// SplitMix64: a tiny, fast, seedable generator whose output is the same on every platform and
/// Swift version, which `SystemRandomNumberGenerator` and hashing-based seeds are not.
public struct SimRandom: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0), without modulo bias worth caring about for a simulation.
    public mutating func below(_ bound: UInt64) -> UInt64 {
        next() % bound
    }

    /// A stable 64-bit hash of a string (FNV-1a), to derive per-symbol seeds.
    public static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
