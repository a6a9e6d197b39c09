/// A NATS creds file: the user JWT that the server checks and the seed that signs its nonce.
public struct NATSCredentials: Sendable {
    /// The user JWT, sent as `jwt` in CONNECT.
    public let jwt: String
    /// The user's key pair, which signs the server nonce (`sig` in CONNECT).
    public let keyPair: NKeyPair

    /// Builds credentials from parts, e.g. a JWT issued at run time.
    public init(jwt: String, keyPair: NKeyPair) {
        self.jwt = jwt
        self.keyPair = keyPair
    }

    /// Parses creds text as `nsc` and `nats-server` write it: a JWT block then a seed block,
    /// each a marker line of at least three dashes around BEGIN/END text; `\n` or `\r\n`;
    /// anything outside the blocks is ignored.
    public init(parsing text: String) throws(NKeyError) {
        // Blocks are found by label; unlabelled files fall back to order (JWT first), as nats.go does.
        let blocks = Self.blocks(in: text)
        let jwtIndex = blocks.firstIndex { $0.label.contains("JWT") }
            ?? blocks.firstIndex { !$0.label.contains("SEED") }
        let seedIndex = blocks.firstIndex { $0.label.contains("SEED") }
            ?? blocks.indices.first { $0 != jwtIndex }
        guard let jwtIndex, !blocks[jwtIndex].content.isEmpty else {
            throw NKeyError(.invalidCredentials, "no JWT block in credentials")
        }
        guard let seedIndex, seedIndex != jwtIndex, !blocks[seedIndex].content.isEmpty else {
            throw NKeyError(.invalidCredentials, "no NKEY SEED block in credentials")
        }
        self.jwt = blocks[jwtIndex].content
        do {
            self.keyPair = try NKeyPair(seed: blocks[seedIndex].content)
        } catch {
            throw NKeyError(.invalidCredentials, "seed block holds no valid seed (\(error.code))")
        }
    }

    /// Reads and parses the creds file at `path`.
    public init(contentsOfFile path: String) throws(NKeyError) {
        var bytes = try Platform.readFile(path)
        defer { Sodium.wipe(&bytes) }
        try self.init(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// The standard creds file text for `jwt` and `seed`, as `nsc generate creds` writes it.
    public static func format(jwt: String, seed: String) -> String {
        """
        -----BEGIN NATS USER JWT-----
        \(jwt)
        ------END NATS USER JWT------

        ************************* IMPORTANT *************************
        NKEY Seed printed below can be used to sign and prove identity.
        NKEYs are sensitive and should be treated as secrets.

        -----BEGIN USER NKEY SEED-----
        \(seed)
        ------END USER NKEY SEED------

        *************************************************************

        """
    }

    private struct Block {
        var label: Substring
        var content: String
    }

    /// The BEGIN…END blocks of `text` in order, each with its BEGIN label and the
    /// whitespace-trimmed lines between the markers joined together.
    private static func blocks(in text: String) -> [Block] {
        var blocks: [Block] = []
        var open: Block?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = trimmingWhitespace(rawLine)
            if let label = markerLabel(line) {
                if label.contains("BEGIN") {
                    open = Block(label: label, content: "")
                } else if label.contains("END"), let block = open {
                    blocks.append(block)
                    open = nil
                }
            } else if open != nil {
                open?.content += line
            }
        }
        return blocks
    }

    /// The text between the dashes of a marker line (`---- BEGIN X ----`), or nil when `line`
    /// does not start and end with at least three dashes.
    private static func markerLabel(_ line: Substring) -> Substring? {
        let leading = line.prefix { $0 == "-" }.count
        let trailing = line.reversed().prefix { $0 == "-" }.count
        guard leading >= 3, trailing >= 3, leading + trailing < line.count else { return nil }
        return trimmingWhitespace(line.dropFirst(leading).dropLast(trailing))
    }
}

extension NATSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "NATSCredentials(\(keyPair.publicKey))" }
    public var debugDescription: String { description }
    /// Hides the seed from `dump`.
    public var customMirror: Mirror {
        Mirror(self, children: ["jwt": jwt, "keyPair": keyPair])
    }
}
