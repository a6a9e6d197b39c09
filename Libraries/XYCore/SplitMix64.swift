/// SplitMix64: a tiny, fast, seedable generator whose output is the same on every platform and
/// Swift version, which `SystemRandomNumberGenerator` and hashing-based seeds are not. The one to
/// inject where randomness must be replayable: simulations, demo data, tests of jittered backoff.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
