/// A subject that passed the publish grammar once, so `NATSClient.publish(_:payload:)` with it
/// need not check it again on every message.
public struct NATSPublishSubject: Sendable, Hashable, CustomStringConvertible {
    /// The subject as it goes on the wire.
    public let text: String

    /// Fails with `.invalidSubject` unless `text` is literal tokens only.
    public init(_ text: String) throws(NATSError) {
        guard NATSSubjectValidation.isValidPublishSubject(text) else {
            throw NATSError(.invalidSubject, "invalid publish subject '\(text.escapedForMessage)'")
        }
        self.text = text
    }

    public var description: String { text }
}
