/// Publish/subscribe permissions of a user, rendered into the server config
/// (`permissions { publish { allow, deny }, subscribe { allow, deny }, allow_responses }`)
/// or into a user JWT in operator mode.
///
/// An empty `allow` list means "no allow restriction" (everything not denied is allowed),
/// exactly as in nats-server.
public struct Permissions: Sendable, Hashable {
    /// Subjects the user may publish to (wildcards allowed). Empty: no restriction.
    public var publishAllow: [String]
    /// Subjects the user may not publish to.
    public var publishDeny: [String]
    /// Subjects the user may subscribe to. Empty: no restriction.
    public var subscribeAllow: [String]
    /// Subjects the user may not subscribe to.
    public var subscribeDeny: [String]
    /// Lets the user publish to the reply subject of any request it received
    /// (`allow_responses: true`), even outside `publishAllow`.
    public var allowResponses: Bool

    /// Creates permissions; every list defaults to empty and `allowResponses` to `false`.
    public init(
        publishAllow: [String] = [],
        publishDeny: [String] = [],
        subscribeAllow: [String] = [],
        subscribeDeny: [String] = [],
        allowResponses: Bool = false
    ) {
        self.publishAllow = publishAllow
        self.publishDeny = publishDeny
        self.subscribeAllow = subscribeAllow
        self.subscribeDeny = subscribeDeny
        self.allowResponses = allowResponses
    }
}
