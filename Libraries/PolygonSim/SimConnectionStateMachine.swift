import Foundation
import XYCore

/// The vendor's side of one WebSocket connection: status messages, authentication, subscriptions,
/// and when to close. Pure: each event returns the frames to send and whether to close, and the
/// server's handler does the I/O.
public struct SimConnectionStateMachine: Sendable {
    public enum State: Sendable, Hashable {
        case awaitingAuth
        case authenticated
        case closed
    }

    /// What the handler does after an event.
    public struct Action: Sendable, Hashable {
        /// Text frames to send, in order.
        public var send: [String] = []
        /// Close the connection after sending.
        public var close = false
        /// A subscription change applied (`subscribe T.AAPL,Q.AAPL`), for the simulator's log (the
        /// order in which a client's changes arrived) and for the handler to tell the feed what
        /// this connection now wants before the replies go out. Never an `auth` message (it holds the key).
        public var applied: String?

        static let none = Action()
    }

    public private(set) var state: State = .awaitingAuth
    public private(set) var subscriptions: SimSubscriptions
    private let apiKey: String
    private let rejectAuth: Bool

    public init(apiKey: String, rejectAuth: Bool) {
        self.apiKey = apiKey
        self.rejectAuth = rejectAuth
        self.subscriptions = SimSubscriptions()
    }

    /// The socket opened; `overLimit` when the server already has its maximum of connections.
    public mutating func connected(overLimit: Bool) -> Action {
        let hello = Self.status("connected", "Connected Successfully")
        guard !overLimit else {
            state = .closed
            return Action(send: [hello, Self.status("max_connections", "Maximum number of websocket connections exceeded. You have reached the connection limit for your account. Please contact support at https://polygon.io/contact to increase your limit.")], close: true)
        }
        return Action(send: [hello])
    }

    /// No `auth` arrived in time.
    public mutating func authTimerFired() -> Action {
        switch state {
        case .awaitingAuth:
            state = .closed
            return Action(send: [Self.status("auth_timeout", "authentication timed out")], close: true)
        case .authenticated, .closed:
            return .none
        }
    }

    /// A text frame from the client.
    public mutating func received(text: String) -> Action {
        switch state {
        case .closed:
            return .none
        case .awaitingAuth, .authenticated:
            break
        }
        guard let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let action = object["action"] as? String
        else {
            return Action(send: [Self.status("error", "invalid message")])
        }
        let params = object["params"] as? String ?? ""
        switch (action, state) {
        case ("auth", .awaitingAuth):
            if rejectAuth || params != apiKey {
                state = .closed
                return Action(send: [Self.status("auth_failed", "authentication failed")], close: true)
            }
            state = .authenticated
            return Action(send: [Self.status("auth_success", "authenticated")])
        case ("auth", .authenticated):
            return Action(send: [Self.status("auth_success", "authenticated")])
        case ("subscribe", .authenticated), ("unsubscribe", .authenticated):
            let subscribing = action == "subscribe"
            let (accepted, rejected) = subscriptions.apply(params: params, subscribe: subscribing)
            var replies = accepted.map { Self.status("success", (subscribing ? "subscribed to: " : "unsubscribed to: ") + $0) }
            replies += rejected.map { Self.status("error", "invalid channel: \($0)") }
            return Action(send: replies, applied: "\(action) \(params)")
        case ("subscribe", .awaitingAuth), ("unsubscribe", .awaitingAuth):
            return Action(send: [Self.status("error", "not authorized")])
        default:
            return Action(send: [Self.status("error", "unknown action: \(action)")])
        }
    }

    /// The connection closed, for whatever reason.
    public mutating func closed() {
        state = .closed
    }

    /// One `[{"ev":"status",…}]` frame.
    public static func status(_ status: String, _ message: String) -> String {
        "[{\"ev\":\"status\",\"status\":\(JSONText.quoted(status)),\"message\":\(JSONText.quoted(message))}]"
    }
}
