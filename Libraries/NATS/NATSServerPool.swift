/// The servers a client may use: the configured seeds plus what the cluster announces, tried in turn.
struct NATSServerPool {
    struct Entry {
        var address: NATSServerAddress
        /// Learned from INFO `connect_urls` rather than configured.
        var discovered: Bool
        /// Announced lame duck mode: tried last.
        var lameDuck = false
    }

    private(set) var entries: [Entry]
    private var cursor = 0
    let randomize: Bool

    init(_ seeds: [NATSServerAddress], randomize: Bool) {
        var entries = seeds.map { Entry(address: $0, discovered: false) }
        if randomize { entries.shuffle() }
        self.entries = entries
        self.randomize = randomize
    }

    var isEmpty: Bool { entries.isEmpty }

    /// The next server to try, round-robin, skipping lame-duck servers while another one exists.
    mutating func next() -> NATSServerAddress {
        precondition(!entries.isEmpty)
        for _ in 0..<entries.count {
            let entry = entries[cursor % entries.count]
            cursor += 1
            if !entry.lameDuck { return entry.address }
        }
        let entry = entries[cursor % entries.count]
        cursor += 1
        return entry.address
    }

    /// Adds the URLs of INFO `connect_urls` (host:port) not yet known, keeping the seeds' TLS and credentials.
    mutating func addDiscovered(_ urls: [String], template: NATSServerAddress) {
        var added: [Entry] = []
        for url in urls {
            guard var address = try? NATSServerAddress(parsing: url) else { continue }
            address.tlsRequired = template.tlsRequired
            address.user = template.user
            address.password = template.password
            let known = entries.contains { $0.address.host == address.host && $0.address.port == address.port }
            if !known { added.append(Entry(address: address, discovered: true)) }
        }
        if randomize { added.shuffle() }
        entries.append(contentsOf: added)
    }

    mutating func markLameDuck(_ address: NATSServerAddress) {
        for index in entries.indices where entries[index].address == address {
            entries[index].lameDuck = true
        }
    }

    mutating func clearLameDuck(_ address: NATSServerAddress) {
        for index in entries.indices where entries[index].address == address {
            entries[index].lameDuck = false
        }
    }
}
