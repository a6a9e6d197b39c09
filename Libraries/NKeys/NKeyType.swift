/// The role an NKey plays; its prefix byte makes the encoded key start with a readable letter.
public enum NKeyType: Sendable, Hashable, CaseIterable {
    /// A client connection (public keys start with `U`).
    case user
    /// An account, which signs user JWTs (`A`).
    case account
    /// An operator, which signs account JWTs (`O`).
    case `operator`
    /// A server (`N`).
    case server
    /// A cluster (`C`).
    case cluster

    /// The prefix byte of an encoded public key, as in the nkeys Go library.
    var prefixByte: UInt8 {
        switch self {
        case .user: return 20 << 3
        case .account: return 0
        case .operator: return 14 << 3
        case .server: return 13 << 3
        case .cluster: return 2 << 3
        }
    }

    /// The type whose public prefix byte is `byte`, or nil for seed/private/unknown prefixes.
    init?(prefixByte byte: UInt8) {
        guard let match = NKeyType.allCases.first(where: { $0.prefixByte == byte }) else { return nil }
        self = match
    }
}

extension NKeyType: CustomStringConvertible {
    public var description: String {
        switch self {
        case .user: return "user"
        case .account: return "account"
        case .operator: return "operator"
        case .server: return "server"
        case .cluster: return "cluster"
        }
    }
}

/// Prefix bytes that are not key types but still appear in encodings.
enum NKeyPrefix {
    /// Leading byte (top five bits) of every encoded seed, so seeds start with `S`.
    static let seed: UInt8 = 18 << 3
}
