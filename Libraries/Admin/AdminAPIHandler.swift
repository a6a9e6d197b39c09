import AdminAPI
import Foundation
import GatewayAuth
import JWTKit
import NATS
import OpenAPIRuntime

/// The operations of Api/openapi.yaml that xy-admin serves (the generator's `filter` lists them):
/// each reads its input, calls ``Accounts`` or the watchlist bucket, and returns the documented
/// success; refusals are thrown as ``APIFailure`` and written by ``APIErrorMiddleware``.
struct AdminAPIHandler: APIProtocol {
    let accounts: Accounts
    let configuration: AdminConfiguration
    let operators: OperatorState
    /// The aggregator's live state, for the snapshots operation.
    let snapshots: MarketSnapshots
    /// The bars operation's reader of XY_BARS and its vendor backfill.
    let bars: MarketDataBars

    func register(_ input: Operations.Register.Input) async throws -> Operations.Register.Output {
        guard case .json(let credentials) = input.body else { throw APIFailure.malformed("a JSON body is required") }
        let user = try await guarded { try await accounts.register(username: credentials.username, password: credentials.password) }
        return .created(.init(body: .json(Self.user(user))))
    }

    func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        guard case .json(let credentials) = input.body else { throw APIFailure.malformed("a JSON body is required") }
        let address = RequestInfo.current.address
        let tokens = try await guarded {
            let user = try await accounts.login(username: credentials.username, password: credentials.password, address: address)
            return try await tokenResponse(user: user, refresh: try await accounts.mintRefreshToken(username: user.username))
        }
        return .ok(.init(body: .json(tokens)))
    }

    func refresh(_ input: Operations.Refresh.Input) async throws -> Operations.Refresh.Output {
        guard case .json(let request) = input.body else { throw APIFailure.malformed("a JSON body is required") }
        try Self.checkLength(request)
        let tokens = try await guarded {
            let rotated = try await accounts.rotate(request.refreshToken)
            return try await tokenResponse(user: rotated.user, refresh: (rotated.refreshToken, rotated.lifetime))
        }
        return .ok(.init(body: .json(tokens)))
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        guard case .json(let request) = input.body else { throw APIFailure.malformed("a JSON body is required") }
        try Self.checkLength(request)
        try await guarded { try await accounts.revoke(request.refreshToken) }
        return .noContent(.init())
    }

    func me(_ input: Operations.Me.Input) async throws -> Operations.Me.Output {
        let claims = try await authenticate()
        let user = try await guarded { try await AdminStore.read(StoredUser.self, accounts.store.users, claims.username)?.0 }
        guard let user else { throw APIFailure.invalidToken("the token's user no longer exists") }
        return .ok(.init(body: .json(Self.user(user))))
    }

    func getWatchlist(_ input: Operations.GetWatchlist.Input) async throws -> Operations.GetWatchlist.Output {
        let claims = try await authenticate()
        let list = try await guarded { try await watchlist(of: claims.username).0 }
        return .ok(.init(body: .json(.init(tickers: list.tickers, max: configuration.watchlistMaximum))))
    }

    func addToWatchlist(_ input: Operations.AddToWatchlist.Input) async throws -> Operations.AddToWatchlist.Output {
        let claims = try await authenticate()
        guard case .json(let addition) = input.body else { throw APIFailure.malformed("a JSON body is required") }
        guard Ticker.isValid(addition.ticker) else { throw Self.invalidTicker }
        let list = try await guarded {
            try await changeWatchlist(of: claims.username) { list throws(APIFailure) in
                guard !list.tickers.contains(addition.ticker) else { return }
                guard list.tickers.count < configuration.watchlistMaximum else {
                    throw APIFailure(.conflict, .watchlistFull, "the watchlist already holds \(configuration.watchlistMaximum) tickers")
                }
                list.tickers.append(addition.ticker)
            }
        }
        return .ok(.init(body: .json(.init(tickers: list.tickers, max: configuration.watchlistMaximum))))
    }

    func removeFromWatchlist(_ input: Operations.RemoveFromWatchlist.Input) async throws -> Operations.RemoveFromWatchlist.Output {
        let claims = try await authenticate()
        let ticker = input.path.ticker
        guard Ticker.isValid(ticker) else { throw Self.invalidTicker }
        let list = try await guarded {
            try await changeWatchlist(of: claims.username) { list throws(APIFailure) in
                guard let index = list.tickers.firstIndex(of: ticker) else {
                    throw APIFailure(.notFound, .tickerNotListed, "\(ticker) is not on the watchlist")
                }
                list.tickers.remove(at: index)
            }
        }
        return .ok(.init(body: .json(.init(tickers: list.tickers, max: configuration.watchlistMaximum))))
    }

    func getJWKS(_ input: Operations.GetJWKS.Input) async throws -> Operations.GetJWKS.Output {
        let keys = try await guarded { try await accounts.issuer.publicKeys() }
        let encoded = try await guarded { () -> [Components.Schemas.Jwk] in
            try keys.map { key in
                // jwt-kit's JWK carries the EC coordinates; the document's JWK is the ES256 subset.
                let fields = try JSONDecoder().decode(ECPublicJWK.self, from: JSONEncoder().encode(key))
                return .init(kty: .ec, kid: fields.kid, alg: .es256, use: .sig, crv: .p256, x: fields.x, y: fields.y)
            }
        }
        return .ok(.init(body: .json(.init(keys: encoded))))
    }

    func getOpenAPIDocument(_ input: Operations.GetOpenAPIDocument.Input) async throws -> Operations.GetOpenAPIDocument.Output {
        .ok(.init(body: .yaml(HTTPBody(OpenAPIDocument.yaml))))
    }

    // MARK: helpers

    /// The document's `maxLength` of a refresh token (ours are 76 characters).
    static func checkLength(_ request: Components.Schemas.RefreshRequest) throws(APIFailure) {
        guard request.refreshToken.utf8.count <= 512 else { throw .malformed("refresh_token is longer than 512 characters") }
    }

    static let invalidTicker = APIFailure(.badRequest, .invalidTicker, "a ticker is 1 to 16 characters of A-Z, 0-9, '-' and '_'")

    /// The caller of a bearer-token operation: XYW001 without a token, XYW005 for a bad one.
    func authenticate() async throws(APIFailure) -> (username: String, role: String) {
        guard let header = RequestInfo.current.authorization else { throw .unauthorized("a bearer token is required") }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].utf8.count <= TokenVerifier.maximumTokenLength else {
            throw .unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        let payload = try await accounts.issuer.verify(String(parts[1]))
        return (payload.sub?.value ?? "", payload.role ?? "user")
    }

    private func tokenResponse(user: StoredUser, refresh: (token: String, lifetime: Duration)) async throws -> Components.Schemas.TokenResponse {
        let access = try await accounts.issuer.issue(username: user.username, role: user.role)
        return .init(
            accessToken: access.token, tokenType: .bearer, expiresIn: Int(access.lifetime.components.seconds),
            refreshToken: refresh.token, refreshExpiresIn: Int(refresh.lifetime.components.seconds)
        )
    }

    private func watchlist(of username: String) async throws -> (StoredWatchlist, UInt64?) {
        if let (list, revision) = try await AdminStore.read(StoredWatchlist.self, accounts.store.watchlists, username) {
            return (list, revision)
        }
        return (StoredWatchlist(tickers: configuration.watchlistDefault), nil)
    }

    /// Applies `change` with compare-and-set, retrying when another request changed the list meanwhile.
    private func changeWatchlist(of username: String, _ change: (inout StoredWatchlist) throws(APIFailure) -> Void) async throws -> StoredWatchlist {
        for _ in 0..<8 {
            var (list, revision) = try await watchlist(of: username)
            try change(&list)
            do {
                if let revision {
                    try await accounts.store.watchlists.update(username, AdminStore.encode(list), revision: revision)
                } else {
                    try await accounts.store.watchlists.create(username, AdminStore.encode(list))
                }
                return list
            } catch let error as JetStreamError where error.errorCode == .streamWrongLastSequence || error.kind == .keyExists {
                continue
            }
        }
        throw APIFailure.unavailable("the watchlist kept changing; try again")
    }

    static func user(_ user: StoredUser) -> Components.Schemas.User {
        .init(
            username: user.username, role: Components.Schemas.Role(rawValue: user.role) ?? .user,
            createdAt: Date(timeIntervalSince1970: Double(user.createdMilliseconds) / 1000)
        )
    }
}

/// The fields of an EC public JWK the document serves.
private struct ECPublicJWK: Decodable {
    var kid: String
    var x: String
    var y: String
}
