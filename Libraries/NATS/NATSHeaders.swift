/// Message headers (`NATS/1.0` block): ordered, multi-valued, case-preserving, plus the optional status line.
public struct NATSHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// Fields in wire order; a name may repeat.
    public private(set) var fields: [(name: String, value: String)]
    /// Status code from the `NATS/1.0 <code> <description>` line (e.g. 503 no responders), nil for ordinary messages.
    public var status: UInt16?
    /// The text after the status code, if any.
    public var statusDescription: String?

    public init() {
        self.fields = []
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// The first value for `name` (exact, case-sensitive match as ADR-4 specifies).
    public subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// Every value for `name`, in wire order.
    public func values(for name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.value)
    }

    /// Adds a value, keeping any existing ones (multi-value header).
    public mutating func append(_ value: String, for name: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every value of `name` with one value.
    public mutating func set(_ value: String, for name: String) {
        fields.removeAll { $0.name == name }
        fields.append((name: name, value: value))
    }

    /// Removes every value of `name`.
    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name == name }
    }

    public var isEmpty: Bool { fields.isEmpty && status == nil }

    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        fields.makeIterator()
    }

    public static func == (lhs: NATSHeaders, rhs: NATSHeaders) -> Bool {
        lhs.status == rhs.status && lhs.statusDescription == rhs.statusDescription
            && lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(status)
        for field in fields {
            hasher.combine(field.name)
            hasher.combine(field.value)
        }
    }
}
