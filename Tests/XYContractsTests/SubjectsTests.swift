import Testing
import XYContracts

@Suite("Subjects and their tokens")
struct SubjectsTests {
    @Test("every helper builds the subject ARCHITECTURE.md lists")
    func subjects() throws {
        #expect(try Subjects.event(symbol: "AAPL") == "xy.md.event.AAPL")
        #expect(try Subjects.tick(group: "demo") == "xy.md.tick.demo")
        #expect(try Subjects.snapshot(group: "demo") == "xy.md.snapshot.demo")
        #expect(try Subjects.snapshotRequest(group: "demo") == "xy.md.snapshot.get.demo")
        #expect(try Subjects.bar(symbol: "SPY") == "xy.md.bar.SPY")
        #expect(try Subjects.session(.connected) == "xy.session.connected")
        #expect(try Subjects.session(.disconnected) == "xy.session.disconnected")
        #expect(try Subjects.featureFlag(name: "tick_interval") == "$KV.xy_feature_flags.tick_interval")
        #expect(Subjects.health == "xy.exec.health")
        #expect(try Subjects.lease(instance: "gw-1") == "xy.ctl.lease.gw-1")
        #expect(Subjects.allLeases == "xy.ctl.lease.*")
        #expect(Subjects.upstreamChanged == "xy.ctl.upstream.changed")
    }

    @Test("instance ids allow letters, digits, _ and -", arguments: ["", "gw.1", "gw 1", "*", ">", "gw\r\n", String(repeating: "g", count: 65)])
    func badInstances(_ instance: String) {
        #expect(throws: SubjectTokenError.self) { try Subjects.lease(instance: instance) }
    }

    @Test("the family prefixes and wildcards match the helpers; a tick subject pairs with its snapshot subject")
    func families() throws {
        #expect(try Subjects.tick(group: "demo").hasPrefix(Subjects.tickPrefix))
        #expect(try Subjects.snapshotRequest(group: "demo").hasPrefix(Subjects.snapshotRequestPrefix))
        #expect(Subjects.allTicks == "xy.md.tick.*")
        #expect(Subjects.allEvents == "xy.md.event.*")
        #expect(Subjects.allBars == "xy.md.bar.*")
        #expect(Subjects.snapshot(forTickSubject: "xy.md.tick.demo") == "xy.md.snapshot.demo")
        #expect(Subjects.snapshot(forTickSubject: Subjects.allTicks) == "xy.md.snapshot.*")
        #expect(Subjects.snapshot(forTickSubject: "xy.md.bar.SPY") == nil)
    }

    @Test("a share-class dot becomes an underscore in the subject, and back")
    func shareClass() throws {
        #expect(try Subjects.event(symbol: "BRK.B") == "xy.md.event.BRK_B")
        #expect(try SubjectToken.symbol(fromToken: "BRK_B") == "BRK.B")
        #expect(try Subjects.bar(symbol: "X:BTCUSD") == "xy.md.bar.X:BTCUSD")
        #expect(try Subjects.event(symbol: "O:SPY251219C00650000") == "xy.md.event.O:SPY251219C00650000")
    }

    @Test("symbols that could change the subject are refused", arguments: [
        "", "AAPL MSFT", "A*", "A>", "aapl", "A_B", "A\r\nPUB x 1", "Ä", String(repeating: "A", count: 65),
    ])
    func badSymbols(_ symbol: String) {
        #expect(throws: SubjectTokenError.self) { try Subjects.event(symbol: symbol) }
    }

    @Test("groups allow letters, digits, _ and -; 'get' is reserved", arguments: ["", "a.b", "a b", "*", ">", "get", "dé"])
    func badGroups(_ group: String) {
        #expect(throws: SubjectTokenError.self) { try Subjects.tick(group: group) }
    }

    @Test("an error names the kind of token and the offending character, never a control byte")
    func errorMessages() {
        do {
            _ = try Subjects.tick(group: "us.equities")
            Issue.record("a dotted group was accepted")
        } catch {
            #expect(error.code == .invalidGroup)
            #expect(error.message == "group 'us.equities' contains '.'")
        }
        do {
            _ = try Subjects.event(symbol: "A\nB")
            Issue.record("a newline was accepted")
        } catch {
            #expect(error.code == .invalidSymbol)
            #expect(error.message == "symbol 'A?B' contains byte 0xA")
        }
    }

    @Test("an unspecified session kind has no subject")
    func unspecifiedSession() {
        #expect(throws: SubjectTokenError.self) { try Subjects.session(.unspecified) }
    }
}
