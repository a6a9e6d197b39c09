import XYCore

/// The simulator's seeded randomness: XYCore's ``SplitMix64`` (the same output on every platform,
/// so a seed replays a market) plus the two helpers the simulation needs.
public struct SimRandom: RandomNumberGenerator, Sendable, Hashable {
    private var generator: SplitMix64

    public init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
    }

    public mutating func next() -> UInt64 {
        generator.next()
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
