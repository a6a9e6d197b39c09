import Foundation
import NATS
import NATSTestSupport
import NIOCore
import Testing

/// Runs the peer to completion; a non-zero exit fails with its output.
private func finished(_ peer: PythonPeer) async throws -> String {
    let (status, output) = try await peer.finish()
    guard status == 0 else { throw NATSError(.serverError, "nats-py peer failed (\(status)): \(output)") }
    return output
}

@Suite("Interoperability with nats-py")
struct NATSPyInteropTests {
    @Test("nats-py publishes with headers; an xy subscriber receives everything")
    func pythonPublishes() async throws {
        let server = try await NATSServer.start()
        let client = try await connect(server)
        let subscription = try client.subscribe("interop.py")
        try await client.flush()
        let peer = try PythonPeer.start(["publish", "--server", server.url, "--subject", "interop.py", "--count", "20",
                                         "--payload", "from python", "--header", "X-Origin:nats-py"], in: server.directory)
        _ = try await finished(peer)
        let messages = try await collect(subscription, count: 20)
        #expect(messages.allSatisfy { $0.string == "from python" })
        #expect(messages[0].headers?["X-Origin"] == "nats-py")
        await client.close()
        await server.stop()
    }

    @Test("xy publishes with headers; a nats-py subscriber receives everything")
    func swiftPublishes() async throws {
        let server = try await NATSServer.start()
        let peer = try PythonPeer.start(["subscribe", "--server", server.url, "--subject", "interop.swift", "--count", "20"], in: server.directory)
        try await peer.waitUntilReady()
        let client = try await connect(server)
        var headers = NATSHeaders()
        headers.append("xy", for: "X-Origin")
        for i in 0..<20 { try client.publish("interop.swift", "m\(i)", headers: headers) }
        try await client.flush()
        let lines = try await finished(peer).split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count == 20)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["data"] as? String == "m0")
        let received = first?["headers"] as? [String: Any]
        let origin = String(describing: received?["X-Origin"] ?? "none")
        #expect(origin.contains("xy"))
        await client.close()
        await server.stop()
    }

    @Test("nats-py answers xy requests, and xy answers nats-py requests")
    func requestsBothWays() async throws {
        let server = try await NATSServer.start()
        let replier = try PythonPeer.start(["reply", "--server", server.url, "--subject", "interop.svc.py", "--count", "3", "--payload", "py-pong"], in: server.directory)
        try await replier.waitUntilReady()
        let client = try await connect(server)
        for _ in 0..<3 {
            #expect(try await client.request("interop.svc.py", "ping").string == "py-pong")
        }
        _ = try await finished(replier)

        try client.subscribe("interop.svc.swift") { message in
            if let reply = message.replyTo { try? client.publish(reply, "swift-pong") }
        }
        try await client.flush()
        let requester = try PythonPeer.start(["request", "--server", server.url, "--subject", "interop.svc.swift", "--payload", "ping"], in: server.directory)
        let answer = try await finished(requester)
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == "swift-pong")
        await client.close()
        await server.stop()
    }
}
