/// The application subprotocols the gateway speaks, and the choice among those a client offers.
///
/// The name a client offers in `Sec-WebSocket-Protocol` picks the frame encoding; `bearer` and the
/// token that follows it are credentials, never a protocol the server can answer with.
public enum WebSocketSubprotocol {
    /// JSON text frames: the default.
    public static let json = "xy.v1.json"
    /// Protobuf binary frames, when the client offers it.
    public static let proto = "xy.v1.proto"
    /// The marker before a token carried in `Sec-WebSocket-Protocol`.
    public static let bearer = "bearer"

    /// `xy.v1.proto` if the client offered it, otherwise `xy.v1.json`.
    public static func select(offered: [String]) -> String {
        offered.contains(proto) ? proto : json
    }

    /// Splits `Sec-WebSocket-Protocol` values (one or several header lines) into their elements.
    static func elements(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: [" ", "\t"]) }
            .filter { !$0.isEmpty }
    }
}
