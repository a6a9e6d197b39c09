import XYCore

/// The request rules of one browser connection: which subjects it holds, its quota, how much
/// abuse it has shown. The connection's state machine (``WebSocketSession/StateMachine``) asks
/// it about each request while open, so the grant and quota rules live in one small value.
public struct ClientRequestRules: Sendable {
    public enum Action: Hashable, Sendable {
        /// Start delivering `subject` (the hub subscribes NATS if nobody holds it yet), then confirm.
        case subscribe(subject: String, id: String?)
        /// Stop delivering `subject`, then confirm.
        case unsubscribe(subject: String, id: String?)
        /// Confirm without touching the hub (already subscribed / not subscribed).
        case confirm(type: String, subject: String, id: String?)
        case pong(id: String?)
        /// Tell the client why a request was refused; nothing reaches NATS.
        case error(code: XYErrorCode, message: String, subject: String?, id: String?)
        /// Close with a WebSocket status code after the error frame (repeated abuse).
        case close(code: UInt16, reason: String)
    }

    /// Decides whether this connection may subscribe to `subject`; nil when allowed, else the refusal.
    public typealias Authorizer = @Sendable (_ subject: String) -> (code: XYErrorCode, message: String)?

    public private(set) var subjects: Set<String> = []
    /// Refused or malformed requests so far.
    public private(set) var strikes = 0
    public let maxSubscriptions: Int
    /// Refusals tolerated before the connection is closed (1008 policy violation).
    public let maxStrikes: Int
    private let authorize: Authorizer

    public init(maxSubscriptions: Int, maxStrikes: Int = 20, authorize: @escaping Authorizer) {
        self.maxSubscriptions = maxSubscriptions
        self.maxStrikes = maxStrikes
        self.authorize = authorize
    }

    /// A parsed request.
    public mutating func received(_ request: ClientRequest) -> [Action] {
        switch request {
        case .ping(let id):
            return [.pong(id: id)]
        case .subscribe(let subject, let id):
            if subjects.contains(subject) { return [.confirm(type: "subscribed", subject: subject, id: id)] }
            if let refusal = authorize(subject) {
                return strike(.error(code: refusal.code, message: refusal.message, subject: subject, id: id))
            }
            guard subjects.count < maxSubscriptions else {
                return strike(.error(
                    code: .quotaExceeded, message: "at most \(maxSubscriptions) subscriptions per connection", subject: subject, id: id
                ))
            }
            subjects.insert(subject)
            return [.subscribe(subject: subject, id: id)]
        case .unsubscribe(let subject, let id):
            guard subjects.remove(subject) != nil else {
                return [.confirm(type: "unsubscribed", subject: subject, id: id)]
            }
            return [.unsubscribe(subject: subject, id: id)]
        }
    }

    /// A frame that is not a request (bad JSON, unknown op, binary on the JSON subprotocol).
    public mutating func malformed(_ reason: String) -> [Action] {
        strike(.error(code: .malformedClientMessage, message: reason, subject: nil, id: nil))
    }

    /// Every subject still held, for the hub when the connection ends.
    public mutating func closed() -> Set<String> {
        defer { subjects.removeAll() }
        return subjects
    }

    private mutating func strike(_ error: Action) -> [Action] {
        strikes += 1
        guard strikes > maxStrikes else { return [error] }
        return [error, .close(code: 1008, reason: "too many refused requests")]
    }
}
