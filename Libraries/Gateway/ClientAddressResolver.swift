import NIOHTTP1
import XYService

extension ClientAddressResolver {
    /// ``clientAddress(peer:forwardedFor:realIP:)`` with the headers of a NIO HTTP/1 request
    /// (repeated `X-Forwarded-For` headers are one list).
    func clientAddress(peer: String, headers: HTTPHeaders) -> String {
        clientAddress(peer: peer, forwardedFor: headers["X-Forwarded-For"], realIP: headers["X-Real-IP"].first)
    }
}
