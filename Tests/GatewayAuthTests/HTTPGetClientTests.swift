import Foundation
import HTTPGet
import NIOCore
import NIOPosix
import Testing

/// The one GET client the JWKS fetcher and xy-admin's vendor REST calls share, against real
/// loopback servers: one that answers, one that never does, one that hangs up, and none at all.
@Suite("HTTP GET client")
struct HTTPGetClientTests {
    @Test("URLs: default ports, Host header, target with query, SNI only for names; other schemes, users and fragments refused")
    func urls() throws {
        let plain = try #require(HTTPGetURL("http://example.com"))
        #expect(!plain.secure && plain.port == 80 && plain.target == "/" && plain.hostHeader == "example.com")
        #expect(plain.origin == "http://example.com:80")
        let secure = try #require(HTTPGetURL("HTTPS://example.com:8443/keys/jwks.json?v=2"))
        #expect(secure.secure && secure.port == 8443 && secure.target == "/keys/jwks.json?v=2")
        #expect(secure.hostHeader == "example.com:8443" && secure.serverName == "example.com")
        #expect(HTTPGetURL("https://example.com:443/")?.hostHeader == "example.com")
        #expect(HTTPGetURL("https://1password.example/")?.serverName == "1password.example", "a name that starts with a digit is a name")
        #expect(HTTPGetURL("https://127.0.0.1:9/")?.serverName == nil)
        let v6 = try #require(HTTPGetURL("https://[::1]:9443/x"))
        #expect(v6.host == "::1" && v6.serverName == nil && v6.hostHeader == "[::1]:9443" && v6.origin == "https://[::1]:9443")
        #expect(HTTPGetURL("ftp://example.com/") == nil)
        #expect(HTTPGetURL("http:///path") == nil)
        #expect(HTTPGetURL("http://user:pw@example.com/") == nil)
        #expect(HTTPGetURL("http://example.com/#part") == nil)
        #expect(HTTPGetURL("not a url") == nil)
    }

    @Test("a GET gives the status and body of any answer, with Host, Connection: close and the caller's headers sent")
    func answers() async throws {
        let server = try await TestHTTPServer.start()
        defer { Task { try? await server.stop() } }
        server.serve("/doc?x=1", "{\"ok\":true}")
        let client = HTTPGetClient(timeout: .seconds(10), maximumBodySize: 1024)
        var url = try #require(HTTPGetURL(server.url))
        url.target = "/doc?x=1"
        let found = try await client.get(url, headers: [("Authorization", "Bearer k"), ("Connection", "keep-alive")])
        #expect(found.status == 200 && String(decoding: found.body, as: UTF8.self) == "{\"ok\":true}")
        let headers = server.lastHeaders
        #expect(headers["Host"] == ["127.0.0.1:\(url.port)"])
        #expect(headers["Connection"] == ["close"], "one exchange per connection, whatever the caller asks")
        #expect(headers["Authorization"] == ["Bearer k"])

        url.target = "/missing"
        let missing = try await client.get(url)
        #expect(missing.status == 404 && missing.body.isEmpty, "a status is the caller's to judge, not an error")
        #expect(server.requests == 2)
    }

    @Test("a body over the cap is refused")
    func bodyCap() async throws {
        let server = try await TestHTTPServer.start()
        defer { Task { try? await server.stop() } }
        server.serve("/big", String(repeating: "x", count: 4096))
        var url = try #require(HTTPGetURL(server.url))
        url.target = "/big"
        await #expect(throws: HTTPGetError.tooLarge) {
            _ = try await HTTPGetClient(timeout: .seconds(10), maximumBodySize: 1000).get(url)
        }
        #expect(try await HTTPGetClient(timeout: .seconds(10), maximumBodySize: 4096).get(url).body.count == 4096)
    }

    @Test("no listener is a connect failure; a silent server a timeout; a server that hangs up a closed connection")
    func failures() async throws {
        let gone = try await Self.listen { _ in }
        let refusedURL = try #require(HTTPGetURL("http://127.0.0.1:\(gone.localAddress!.port!)/"))
        try await gone.close()
        let client = HTTPGetClient(timeout: .milliseconds(500), maximumBodySize: 1024)
        do {
            _ = try await client.get(refusedURL)
            Issue.record("a GET to a closed port answered")
        } catch {
            guard case .connect = error else { throw error }
        }

        let silent = try await Self.listen { _ in }
        defer { silent.close(promise: nil) }
        await #expect(throws: HTTPGetError.timeout) {
            _ = try await client.get(try #require(HTTPGetURL("http://127.0.0.1:\(silent.localAddress!.port!)/")))
        }

        let hangingUp = try await Self.listen { channel in
            try channel.pipeline.syncOperations.addHandler(CloseOnRead())
        }
        defer { hangingUp.close(promise: nil) }
        await #expect(throws: HTTPGetError.closed) {
            _ = try await HTTPGetClient(timeout: .seconds(10), maximumBodySize: 1024)
                .get(try #require(HTTPGetURL("http://127.0.0.1:\(hangingUp.localAddress!.port!)/")))
        }
    }

    /// A TCP listener on a free loopback port whose connections get `configure`'s handlers.
    static func listen(_ configure: @escaping @Sendable (any Channel) throws -> Void) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try configure(channel) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Hangs up on the first bytes of a request, before any answer.
    final class CloseOnRead: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.close(promise: nil)
        }
    }
}
