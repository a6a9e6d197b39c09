import NIOCore

/// A message delivered to a subscription; the payload is a slice of the read buffer, not a copy.
public struct NATSMessage: Sendable {
    public var subject: String
    public var replyTo: String?
    public var headers: NATSHeaders?
    public var payload: ByteBuffer
    /// Subscription id the server delivered it on.
    public var sid: UInt64

    public init(subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil, payload: ByteBuffer, sid: UInt64 = 0) {
        self.subject = subject
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
        self.sid = sid
    }

    /// The payload decoded as UTF-8 (lossy), for text protocols and tests.
    public var string: String { String(buffer: payload) }

    /// Status code carried in the header block (100, 404, 408, 409, 503…), if any.
    public var status: UInt16? { headers?.status }
}
