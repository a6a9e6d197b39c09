import Foundation
import HTTPGet
import NIOCore
import NIOPosix
import NIOSSL

/// Fetches a JWKS document with one HTTP/1.1 GET: `http://` directly, `https://` through NIOSSL.
///
/// A JWKS fetch is one small GET every few minutes, so a full HTTP client would be dead weight;
/// ``HTTPGetClient`` does exactly that GET (no redirects, `Connection: close`, a body cap and a
/// deadline) and this hands back the body of a 200. Anything else is an error that keeps the old
/// keys in use.
public struct JWKSFetcher: Sendable {
    /// The whole fetch, connect to last byte, must finish within this.
    public var timeout: TimeAmount
    /// The largest body accepted; a JWKS is a few KiB.
    public var maximumBodySize: Int
    /// The TLS settings for `https://` (system trust roots by default).
    public var tlsConfiguration: TLSConfiguration
    let group: any EventLoopGroup

    public init(
        timeout: TimeAmount = .seconds(5),
        maximumBodySize: Int = 1 << 20,
        tlsConfiguration: TLSConfiguration = .makeClientConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.timeout = timeout
        self.maximumBodySize = maximumBodySize
        self.tlsConfiguration = tlsConfiguration
        self.group = group
    }

    /// A fetch that failed: bad URL, connection, TLS, status or body.
    public struct FetchError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// GETs `url` and returns the body of a 200 answer.
    public func fetch(_ url: String) async throws -> Data {
        guard let location = HTTPGetURL(url) else { throw FetchError(message: "not an http(s) URL: \(url)") }
        let client = HTTPGetClient(timeout: timeout, maximumBodySize: maximumBodySize, tlsConfiguration: tlsConfiguration, group: group)
        let response: HTTPGetClient.Response
        do {
            response = try await client.get(location, headers: [("Accept", "application/json")])
        } catch {
            let reason = switch error {
            case .connect(let cause): "cannot connect to \(location.hostHeader): \(cause)"
            case .timeout: "no complete answer from \(location.hostHeader) within \(timeout)"
            case .tooLarge: "JWKS body larger than \(maximumBodySize) bytes"
            case .closed: "connection to \(location.hostHeader) closed before the answer was complete"
            }
            throw FetchError(message: reason)
        }
        guard response.status == 200 else { throw FetchError(message: "JWKS answer status \(response.status)") }
        return response.body
    }
}
