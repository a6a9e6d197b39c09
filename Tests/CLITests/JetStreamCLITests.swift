import Foundation
import NATSTestSupport
import Testing

@Suite("xy js and xy kv")
struct JetStreamCLITests {
    @Test("stream add, info, ls, pub with de-duplication, rm")
    func streams() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let s = ["-s", server.url]
        let added = try await XYCommand.run(["js", "stream", "add", "ORDERS", "--subjects", "orders.>", "--storage", "memory",
                                             "--max-age", "1h", "--max-msgs-per-subject", "5", "--allow-direct"] + s)
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("subjects: orders.>"))
        #expect(added.stdout.contains("storage: memory"))
        #expect(added.stdout.contains("age 3600s"))

        let first = try await XYCommand.run(["js", "pub", "orders.new", "hello", "--msg-id", "o-1"] + s)
        #expect(first.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "stored in ORDERS seq 1")
        let again = try await XYCommand.run(["js", "pub", "orders.new", "hello", "--msg-id", "o-1"] + s)
        #expect(again.stdout.contains("seq 1 (duplicate)"))
        let refused = try await XYCommand.run(["js", "pub", "orders.new", "x", "--expect-last-seq", "7"] + s)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("10071"), "\(refused.stderr)")

        let info = try await XYCommand.run(["js", "stream", "info", "ORDERS"] + s)
        #expect(info.stdout.contains("state: 1 msgs"))
        let list = try await XYCommand.run(["js", "stream", "ls"] + s)
        #expect(list.stdout.hasPrefix("ORDERS\torders.>\t1 msgs"))

        #expect(try await XYCommand.run(["js", "stream", "rm", "ORDERS"] + s).status == 0)
        let missing = try await XYCommand.run(["js", "stream", "info", "ORDERS"] + s)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("10059"), "\(missing.stderr)")
        await server.stop()
    }

    @Test("kv add, put, get, watch (initial values, marker, live update), del, ls")
    func keyValue() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let s = ["-s", server.url]
        #expect(try await XYCommand.run(["kv", "add", "flags", "--history", "3"] + s).status == 0)
        let revision = try await XYCommand.run(["kv", "put", "flags", "charts", "on"] + s)
        #expect(revision.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(try await XYCommand.run(["kv", "get", "flags", "charts"] + s).stdout == "on\n")

        // The put comes once the watch has printed its marker, so it can only arrive as a live update.
        let watch = try XYCommand.start(["kv", "watch", "flags", "--count", "3"] + s)
        try await watch.waitForStdout(containing: "-- end of initial values --\n")
        _ = try await XYCommand.run(["kv", "put", "flags", "proto", "off"] + s)
        let watched = try await watch.wait(timeout: .seconds(20))
        let lines = watched.stdout.split(separator: "\n").map(String.init)
        #expect(lines == ["[1] PUT charts: on", "-- end of initial values --", "[2] PUT proto: off"])

        #expect(try await XYCommand.run(["kv", "del", "flags", "charts"] + s).status == 0)
        let gone = try await XYCommand.run(["kv", "get", "flags", "charts"] + s)
        #expect(gone.status == 1)
        #expect(try await XYCommand.run(["kv", "ls", "flags"] + s).stdout == "proto\n")
        let noBucket = try await XYCommand.run(["kv", "put", "nope", "k", "v"] + s)
        #expect(noBucket.status == 1)
        #expect(noBucket.stderr.contains("bucketNotFound"), "\(noBucket.stderr)")
        await server.stop()
    }

    @Test("bench js-pub and kv-put report their rates")
    func benches() async throws {
        let server = try await NATSServer.start(.init(jetStream: true))
        let js = try await XYCommand.run(["bench", "js-pub", "--msgs", "2000", "--size", "64", "--window", "64", "--json", "-s", server.url])
        #expect(js.status == 0, "\(js.stderr)")
        #expect(js.stdout.contains("\"bench\":\"js-pub\""))
        let kv = try await XYCommand.run(["bench", "kv-put", "--msgs", "300", "--json", "-s", server.url])
        #expect(kv.status == 0, "\(kv.stderr)")
        #expect(kv.stdout.contains("\"bench\":\"kv-put\""))
        #expect(kv.stdout.contains("p99_us"))
        await server.stop()
    }
}
