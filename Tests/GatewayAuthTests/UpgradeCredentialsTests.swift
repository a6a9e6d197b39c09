import GatewayAuth
import Testing

@Suite("Token sources and subprotocol selection")
struct UpgradeCredentialsTests {
    func read(_ uri: String, _ headers: [(name: String, value: String)]) -> UpgradeCredentials {
        UpgradeCredentials(method: "GET", uri: uri, headers: headers)
    }

    func read(_ headers: [(name: String, value: String)]) -> UpgradeCredentials {
        read("/ws", headers)
    }

    @Test("Authorization: Bearer, any case of name and scheme")
    func header() {
        let credentials = read([("authorization", "bearer tok.en.1")])
        #expect(credentials.token == "tok.en.1")
        #expect(credentials.source == .header)
        #expect(credentials.hasBearerHeader)
        #expect(credentials.responseSubprotocol == nil)
        #expect(credentials.applicationSubprotocol == "xy.v1.json")
        #expect(read([("Authorization", "Basic dXNlcjpwdw==")]).token == nil)
        #expect(read([("Authorization", "Bearer ")]).token == nil)
    }

    @Test("Sec-WebSocket-Protocol: bearer, <token>: the answer is the application subprotocol, never the token")
    func subprotocol() {
        let bare = read([("Sec-WebSocket-Protocol", "bearer, tok.en.2")])
        #expect(bare.token == "tok.en.2")
        #expect(bare.source == .subprotocol)
        #expect(!bare.hasBearerHeader)
        #expect(bare.responseSubprotocol == "xy.v1.json")

        let proto = read([("sec-websocket-protocol", "xy.v1.proto, bearer, tok.en.3")])
        #expect(proto.token == "tok.en.3")
        #expect(proto.applicationSubprotocol == "xy.v1.proto")
        #expect(proto.responseSubprotocol == "xy.v1.proto")

        // Split over two header lines, as some clients send it.
        let split = read([("Sec-WebSocket-Protocol", "xy.v1.json"), ("Sec-WebSocket-Protocol", "bearer, tok.en.4")])
        #expect(split.token == "tok.en.4")
        #expect(split.responseSubprotocol == "xy.v1.json")

        #expect(read([("Sec-WebSocket-Protocol", "xy.v1.json, bearer")]).token == nil)
    }

    @Test("subprotocol selection without a token")
    func selection() {
        #expect(read([("Sec-WebSocket-Protocol", "xy.v1.proto")]).applicationSubprotocol == "xy.v1.proto")
        #expect(read([("Sec-WebSocket-Protocol", "xy.v1.json, xy.v1.proto")]).applicationSubprotocol == "xy.v1.proto")
        #expect(read([("Sec-WebSocket-Protocol", "xy.v1.proto")]).responseSubprotocol == "xy.v1.proto")
        #expect(read([("Sec-WebSocket-Protocol", "xy.v1.json")]).responseSubprotocol == "xy.v1.json")
        // Never answer with a name the client did not offer.
        #expect(read([("Sec-WebSocket-Protocol", "chat")]).applicationSubprotocol == "xy.v1.json")
        #expect(read([("Sec-WebSocket-Protocol", "chat")]).responseSubprotocol == nil)
        #expect(read([]).applicationSubprotocol == "xy.v1.json")
        #expect(WebSocketSubprotocol.select(offered: []) == "xy.v1.json")
    }

    @Test("?token= is percent-decoded")
    func query() {
        let credentials = read("/ws?x=1&token=a%2Eb.c%2D&y=2", [])
        #expect(credentials.token == "a.b.c-")
        #expect(credentials.source == .query)
        #expect(read("/ws?token=", []).token == nil)
        #expect(read("/ws?token=%ZZ", []).token == nil)
        #expect(read("/ws?notoken=abc", []).token == nil)
    }

    @Test("cookie xy_token")
    func cookie() {
        let credentials = read([("Cookie", "theme=dark; xy_token=c.o.k; other=1")])
        #expect(credentials.token == "c.o.k")
        #expect(credentials.source == .cookie)
        #expect(read([("cookie", "a=1"), ("cookie", "xy_token=\"q.u.o\"")]).token == "q.u.o")
        #expect(read([("Cookie", "my_xy_token=zz")]).token == nil)
    }

    @Test("sources are tried in order: header, subprotocol, query, cookie")
    func order() {
        let all: [(name: String, value: String)] = [
            ("Cookie", "xy_token=from.cookie"), ("Sec-WebSocket-Protocol", "bearer, from.sub"), ("Authorization", "Bearer from.header"),
        ]
        #expect(read("/ws?token=from.query", all).source == .header)
        #expect(read("/ws?token=from.query", Array(all.dropLast())).source == .subprotocol)
        #expect(read("/ws?token=from.query", Array(all.prefix(1))).token == "from.query")
        #expect(read("/ws", Array(all.prefix(1))).token == "from.cookie")
        #expect(read("/ws", []).source == nil)
    }
}
