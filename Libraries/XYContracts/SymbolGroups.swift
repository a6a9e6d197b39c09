/// Where a symbol lives: the aggregator group whose `xy.md.tick.<group>` carries it. The one
/// mapping every service uses (aggregators, gateways, xy-admin), so they agree without asking
/// anyone: a symbol some configured group (`AGG_GROUPS`) names belongs to the first such group;
/// any other symbol to one of `dynamicCount` dynamic groups (`dyn-00`, `dyn-01`, …), chosen by
/// the 32-bit FNV-1a hash of its UTF-8 bytes (not Swift's `Hasher`, which is seeded per process).
///
/// A configured group must not be named like a dynamic group (``isDynamicGroup(_:)``): the
/// aggregator's configuration refuses it, since the two would share one subject.
public struct SymbolGroups: Sendable, Equatable {
    /// `AGG_DYNAMIC_GROUPS`' default.
    public static let defaultDynamicCount = 16
    /// The largest number of dynamic groups taken (each is one subscription per gateway and one
    /// set of subjects per aggregator).
    public static let maximumDynamicCount = 1000
    /// What every dynamic group's name starts with.
    public static let dynamicPrefix = "dyn-"

    /// The configured groups' names, in configuration order.
    public let configuredNames: [String]
    /// How many dynamic groups there are (at least 1).
    public let dynamicCount: Int
    /// Every dynamic group's name, by index.
    public let dynamicNames: [String]
    /// Symbol → the first configured group that names it.
    private let configuredGroupOfSymbol: [String: String]

    /// - Parameters:
    ///   - configured: the groups of `AGG_GROUPS`, in order (a symbol in several belongs to the first).
    ///   - dynamicCount: clamped to 1…``maximumDynamicCount``.
    public init(configured: [(name: String, symbols: [String])], dynamicCount: Int = SymbolGroups.defaultDynamicCount) {
        var groupOfSymbol: [String: String] = [:]
        for group in configured {
            for symbol in group.symbols where groupOfSymbol[symbol] == nil {
                groupOfSymbol[symbol] = group.name
            }
        }
        configuredGroupOfSymbol = groupOfSymbol
        configuredNames = configured.map(\.name)
        let count = min(max(1, dynamicCount), Self.maximumDynamicCount)
        self.dynamicCount = count
        let width = max(2, String(count - 1).count)
        dynamicNames = (0..<count).map { index in
            let digits = String(index)
            return Self.dynamicPrefix + String(repeating: "0", count: width - digits.count) + digits
        }
    }

    /// The group that carries `symbol`: its configured group, else its dynamic group.
    public func group(of symbol: String) -> String {
        configuredGroupOfSymbol[symbol] ?? dynamicNames[dynamicIndex(of: symbol)]
    }

    /// The configured group that names `symbol`, nil when it is a dynamic symbol.
    public func configuredGroup(of symbol: String) -> String? {
        configuredGroupOfSymbol[symbol]
    }

    /// The index of the dynamic group `symbol` hashes to (whether or not a configured group names it).
    public func dynamicIndex(of symbol: String) -> Int {
        Int(Self.fnv1a(symbol) % UInt32(dynamicCount))
    }

    /// Whether `name` is one of this mapping's dynamic groups.
    public func isDynamicGroup(_ name: String) -> Bool {
        dynamicIndex(ofGroup: name) != nil
    }

    /// The index of the dynamic group called `name`, nil for any other name.
    public func dynamicIndex(ofGroup name: String) -> Int? {
        guard name.hasPrefix(Self.dynamicPrefix), let index = Int(name.dropFirst(Self.dynamicPrefix.count)),
              dynamicNames.indices.contains(index), dynamicNames[index] == name
        else { return nil }
        return index
    }

    /// 32-bit FNV-1a of the string's UTF-8 bytes: the same on every platform, run and version.
    public static func fnv1a(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }
}
