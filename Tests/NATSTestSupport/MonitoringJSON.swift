import Foundation

/// A JSON document from a monitoring endpoint (`/varz`, `/connz`, `/jsz`, …), as a `Sendable` value.
///
/// Read it with subscripts and typed accessors, each `nil` when the shape differs:
/// `try await server.varz()["jetstream"]?["config"]?["store_dir"]?.string`.
public enum MonitoringJSON: Sendable, Hashable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([MonitoringJSON])
    case object([String: MonitoringJSON])

    /// Parses a JSON document.
    public static func parse(_ bytes: some Collection<UInt8>) throws -> MonitoringJSON {
        try JSONDecoder().decode(MonitoringJSON.self, from: Data(bytes))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([MonitoringJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: MonitoringJSON].self))
        }
    }

    /// The member `key` of an object.
    public subscript(key: String) -> MonitoringJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index` of an array.
    public subscript(index: Int) -> MonitoringJSON? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    /// The value of a JSON boolean.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The value of a JSON number that is an integer.
    public var int: Int? {
        if case .number(let value) = self { return Int(exactly: value) }
        return nil
    }

    /// The value of a JSON number.
    public var double: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The value of a JSON string.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The elements of a JSON array.
    public var array: [MonitoringJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members of a JSON object.
    public var object: [String: MonitoringJSON]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Compact JSON text (object keys sorted).
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value):
            if let integer = Int(exactly: value) { return String(integer) }
            return String(value)
        case .string(let value): return Self.encode(value)
        case .array(let elements): return "[" + elements.map(\.description).joined(separator: ",") + "]"
        case .object(let members):
            let body = members.sorted { $0.key < $1.key }.map { "\(Self.encode($0.key)):\($0.value.description)" }
            return "{" + body.joined(separator: ",") + "}"
        }
    }

    private static func encode(_ string: String) -> String {
        let data = (try? JSONEncoder().encode(string)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
