import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import OpenAPIRuntime
import XYCore
import XYService

/// Hummingbird's per-request context with the peer's address, which the login rate limit needs.
public struct AdminRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// What a handler needs of the HTTP request that the generated operation inputs do not carry
/// (the bearer token lives in the security scheme, the address in the connection).
struct RequestInfo: Sendable {
    /// The `Authorization` header, when present.
    var authorization: String?
    /// The client's IP address: the TCP peer, or what a trusted proxy says it is
    /// (``ClientAddressResolver``, `TRUSTED_PROXIES`).
    var address: String

    @TaskLocal static var current = RequestInfo(authorization: nil, address: "unknown")
}

/// Sets ``RequestInfo`` for the handlers, and turns what they throw into the `{"code","message"}`
/// answers the document lists: an ``APIFailure`` as it says, a body or parameter the generated
/// code could not decode as 400 XYW007, anything else (storage trouble) as 503 XYW004, so nothing
/// a client sends yields a 500.
struct APIErrorMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let logger: Logger
    var resolver = ClientAddressResolver(trustedProxies: [])

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let info = RequestInfo(
            authorization: request.headers[.authorization],
            address: resolver.clientAddress(
                peer: context.remoteAddress?.ipAddress ?? "unknown",
                forwardedFor: request.headers[values: .xForwardedFor], realIP: request.headers[.xRealIP])
        )
        do {
            return try await RequestInfo.$current.withValue(info) {
                try await next(request, context)
            }
        } catch {
            let failure = Self.failure(for: error, path: request.uri.path)
            if failure.status == .serviceUnavailable {
                // The failure's own message only: the generated code's error describes the
                // operation's input, passwords and refresh tokens included.
                logger.error("request failed", metadata: ["code": "\(failure.code)", "path": "\(request.uri.path)", "reason": "\(failure.message)"])
            }
            var headers: HTTPFields = [.contentType: "application/json"]
            if let seconds = failure.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
            if let allow = failure.allow { headers[.allow] = allow }
            return Response(status: failure.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: failure.body)))
        }
    }

    /// Handlers turn their own storage errors into ``APIFailure`` (``guarded(_:)``), so an
    /// operation error of any other kind comes from the generated code reading the request.
    static func failure(for error: any Error, path: String = "") -> APIFailure {
        if let failure = error as? APIFailure { return failure }
        if let server = error as? ServerError {
            if let failure = server.underlyingError as? APIFailure { return failure }
            // A bars parameter the generated code could not read (an absent ticker, a multiplier
            // that is no integer): the bars checks name it with its own code.
            if server.operationID == "getBars", let failure = BarsQuery.failure(rawTarget: server.request.path ?? "") {
                return failure
            }
            return .malformed("the request is not what the operation takes: \(server.causeDescription)")
        }
        if let http = error as? HTTPError {
            switch http.status {
            case .notFound where servedPaths.contains(where: { matches($0.template, path) }):
                // Hummingbird answers 404 for a path it routes under another method.
                var failure = APIFailure(.methodNotAllowed, .unknownRoute, "this path takes other methods")
                failure.allow = servedPaths.first { matches($0.template, path) }?.methods
                return failure
            case .notFound, .methodNotAllowed:
                return APIFailure(http.status, .unknownRoute, "no such operation")
            default:
                return APIFailure(http.status, .malformedClientMessage, http.body ?? "the request could not be read")
            }
        }
        return .unavailable("the service's state is unavailable right now")
    }
}

/// The paths the served operations take (`{…}` is one path segment), so another method on one
/// of them is 405 rather than 404.
let servedPaths: [(template: String, methods: String)] = [
    ("/api/v1/auth/register", "POST"), ("/api/v1/auth/login", "POST"), ("/api/v1/auth/refresh", "POST"),
    ("/api/v1/auth/logout", "POST"), ("/api/v1/auth/me", "GET"), ("/api/v1/watchlist", "GET, POST"),
    ("/api/v1/watchlist/{ticker}", "DELETE"), ("/.well-known/jwks.json", "GET"), ("/api/v1/openapi.yaml", "GET"),
    ("/admin/feature-flags", "GET"), ("/admin/feature-flags/{name}", "GET, PUT, DELETE"),
    ("/admin/feature-flags/{name}/history", "GET"), ("/admin/sessions", "GET"), ("/admin/health", "GET"),
    ("/api/v1/market-data/snapshots", "GET"),
    ("/api/v1/market-data/bars", "GET"),
]

/// Whether `path` fits `template` segment by segment.
func matches(_ template: String, _ path: String) -> Bool {
    let expected = template.split(separator: "/", omittingEmptySubsequences: false)
    let actual = path.split(separator: "/", omittingEmptySubsequences: false)
    guard expected.count == actual.count else { return false }
    return zip(expected, actual).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
}

/// Runs a handler's body, turning anything but an ``APIFailure`` (NATS or JetStream trouble) into
/// 503 XYW004, so the middleware can tell those from requests the generated code could not read.
func guarded<T: Sendable>(_ body: () async throws -> T) async throws(APIFailure) -> T {
    do {
        return try await body()
    } catch let failure as APIFailure {
        throw failure
    } catch {
        throw .unavailable("the service's state is unavailable right now (\(type(of: error)))")
    }
}

extension HTTPField.Name {
    /// The client chain a reverse proxy appends to (`X-Forwarded-For`).
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    /// The client address a reverse proxy names (`X-Real-IP`).
    static let xRealIP = HTTPField.Name("X-Real-IP")!
}
