import Testing
import Upstream

/// The lease decisions of the upstream state machine, driven by an explicit clock (seconds here).
@Suite("Upstream leases in the connection state machine")
struct UpstreamLeaseTests {
    private static let second: Int64 = 1_000_000_000

    private func streamingMachine(symbols: [String] = ["AAPL"], maxSymbols: Int = 4, grace: Duration = .seconds(60)) -> UpstreamConnectionStateMachine {
        let configuration = UpstreamConfiguration(
            url: "ws://127.0.0.1:1/stocks", apiKey: "k", symbols: symbols, channels: ["T"], maxSymbols: maxSymbols, leaseGrace: grace)
        var machine = UpstreamConnectionStateMachine(configuration: configuration)
        machine.connecting()
        machine.connectionOpened()
        _ = machine.statusReceived(status: "connected", message: "")
        _ = machine.statusReceived(status: "auth_success", message: "")
        return machine
    }

    private func lease(_ instance: String, _ symbols: [String], revision: UInt64, lifetime: Int64 = 30 * second) -> UpstreamLeaseBook.Lease {
        UpstreamLeaseBook.Lease(instance: instance, symbols: symbols, lifetimeNanoseconds: lifetime, issuedAtNanoseconds: Int64(revision), revision: revision)
    }

    @Test("a lease for new symbols subscribes them at once; configured ones are not sent again")
    func leaseSubscribes() {
        var machine = streamingMachine()
        let (outcome, actions) = machine.leaseReceived(lease("gw-1", ["aapl", "IBM", "NVDA"], revision: 1), now: 0)
        #expect(outcome?.added == ["IBM", "NVDA"])
        #expect(outcome?.changed == true)
        #expect(actions == [.send(#"{"action":"subscribe","params":"T.IBM,T.NVDA"}"#)])
        #expect(machine.interest.symbols == ["AAPL", "IBM", "NVDA"])
        // The same set renewed changes nothing.
        let (renewed, none) = machine.leaseReceived(lease("gw-1", ["AAPL", "IBM", "NVDA"], revision: 2), now: 10 * Self.second)
        #expect(renewed?.changed == false)
        #expect(none.isEmpty)
    }

    @Test("a late lease (lower revision, not issued later) is dropped")
    func staleLeaseDropped() {
        var machine = streamingMachine()
        _ = machine.leaseReceived(lease("gw-1", ["IBM"], revision: 5), now: 0)
        let (outcome, actions) = machine.leaseReceived(lease("gw-1", [], revision: 4), now: Self.second)
        #expect(outcome == nil)
        #expect(actions.isEmpty)
        #expect(machine.interest.contains("IBM"))
    }

    @Test("overlapping leases, one lapses: its own symbols go after the grace, the shared one stays, configured never")
    func expiryAndGrace() {
        var machine = streamingMachine(grace: .seconds(5))
        _ = machine.leaseReceived(lease("gw-1", ["IBM", "SPY", "AAPL"], revision: 1, lifetime: 30 * Self.second), now: 0)
        _ = machine.leaseReceived(lease("gw-2", ["SPY"], revision: 1, lifetime: 300 * Self.second), now: 0)
        #expect(machine.interest.symbols == ["AAPL", "IBM", "SPY"])
        // gw-1 lapses at 30 s; IBM is kept through the grace period.
        let (lapsed, quiet) = machine.leaseClockTicked(now: 31 * Self.second)
        #expect(lapsed.changed == false)
        #expect(lapsed.lapsed == ["gw-1"])
        #expect(quiet.isEmpty)
        #expect(machine.leases.instanceCount == 1)
        #expect(machine.interest.contains("IBM"))
        let (reclaimed, actions) = machine.leaseClockTicked(now: 36 * Self.second)
        #expect(reclaimed.removed == ["IBM"])
        #expect(actions == [.send(#"{"action":"unsubscribe","params":"T.IBM"}"#)])
        #expect(machine.interest.symbols == ["AAPL", "SPY"])
        // The last lease released with an empty set: SPY follows after its grace; AAPL is configured.
        _ = machine.leaseReceived(lease("gw-2", [], revision: 2), now: 40 * Self.second)
        let released = machine.leaseClockTicked(now: 44 * Self.second).0
        #expect(released.changed == false)
        #expect(released.lapsed.isEmpty, "a released lease did not lapse")
        #expect(machine.leaseClockTicked(now: 45 * Self.second).0.removed == ["SPY"])
        #expect(machine.interest.symbols == ["AAPL"])
    }

    @Test("leased again within the grace: nothing is sent to the vendor")
    func releasedAndReleasedWithinGrace() {
        var machine = streamingMachine(grace: .seconds(5))
        _ = machine.leaseReceived(lease("gw-1", ["IBM"], revision: 1), now: 0)
        _ = machine.leaseReceived(lease("gw-1", [], revision: 2), now: Self.second)
        let (back, actions) = machine.leaseReceived(lease("gw-1", ["IBM"], revision: 3), now: 3 * Self.second)
        #expect(back?.changed == false)
        #expect(actions.isEmpty)
        #expect(machine.leaseClockTicked(now: 20 * Self.second).0.changed == false)
        #expect(machine.interest.contains("IBM"))
    }

    @Test("over the quota: configured first, then the earliest leases; the rest refused until room appears")
    func quota() {
        var machine = streamingMachine(symbols: ["AAPL"], maxSymbols: 3, grace: .seconds(5))
        _ = machine.leaseReceived(lease("gw-1", ["IBM", "NVDA"], revision: 1), now: 0)
        let (full, actions) = machine.leaseReceived(lease("gw-2", ["TSLA", "AAPL"], revision: 1), now: Self.second)
        #expect(full?.refused == ["TSLA"])
        #expect(full?.added == [])
        #expect(full?.changed == true)
        #expect(actions.isEmpty)
        #expect(machine.interest.symbols == ["AAPL", "IBM", "NVDA"])
        // gw-1 drops NVDA: TSLA, leased and waiting, takes the room at once instead of NVDA's grace.
        let (moved, sent) = machine.leaseReceived(lease("gw-1", ["IBM"], revision: 2), now: 2 * Self.second)
        #expect(moved?.removed == ["NVDA"])
        #expect(moved?.added == ["TSLA"])
        #expect(moved?.refused == [])
        #expect(sent == [.send(#"{"action":"unsubscribe","params":"T.NVDA"}"#), .send(#"{"action":"subscribe","params":"T.TSLA"}"#)])
    }

    @Test("a requested symbol is pinned; unsubscribed while leased, it stays until the leases let it go")
    func requestsAndLeases() {
        var machine = streamingMachine(symbols: ["AAPL"], maxSymbols: 4, grace: .seconds(5))
        _ = machine.leaseReceived(lease("gw-1", ["IBM"], revision: 1, lifetime: 10 * Self.second), now: 0)
        #expect(machine.subscribe(["IBM"]).1.isEmpty)
        #expect(machine.pinned.contains("IBM"))
        // Pinned, it outlives its lease.
        #expect(machine.leaseClockTicked(now: 60 * Self.second).0.changed == false)
        #expect(machine.interest.contains("IBM"))
        _ = machine.leaseReceived(lease("gw-1", ["IBM"], revision: 2, lifetime: 10 * Self.second), now: 61 * Self.second)
        let (change, actions) = machine.unsubscribe(["IBM"], now: 62 * Self.second)
        #expect(change.changed == [])
        #expect(actions.isEmpty)
        #expect(machine.interest.contains("IBM"))
        // Lease lapses at 71 s, grace ends at 76 s.
        #expect(machine.leaseClockTicked(now: 75 * Self.second).0.changed == false)
        #expect(machine.leaseClockTicked(now: 77 * Self.second).0.removed == ["IBM"])
    }

    @Test("with the wildcard configured, leases are counted, lapse, and change nothing; none is refused")
    func wildcard() {
        var machine = streamingMachine(symbols: ["*"])
        let (outcome, actions) = machine.leaseReceived(lease("gw-1", ["IBM"], revision: 1, lifetime: 10 * Self.second), now: 0)
        #expect(outcome?.changed == false)
        #expect(actions.isEmpty)
        #expect(machine.leases.instanceCount == 1)
        #expect(machine.leases.leasedCount == 1)
        #expect(machine.leases.refused.isEmpty)
        #expect(machine.unsubscribe(["IBM"], now: Self.second).1.isEmpty)
        let lapsed = machine.leaseClockTicked(now: 11 * Self.second)
        #expect(lapsed.1.isEmpty)
        #expect(lapsed.0.lapsed == ["gw-1"])
        #expect(machine.leases.instanceCount == 0)
        #expect(machine.leases.leasedCount == 0)
    }

    @Test("a request cannot unsubscribe a symbol only leases hold: it stays, and goes when they let it go")
    func requestCannotTakeALeasedSymbol() {
        var machine = streamingMachine(symbols: ["AAPL"], grace: .seconds(5))
        _ = machine.leaseReceived(lease("gw-1", ["IBM"], revision: 1, lifetime: 10 * Self.second), now: 0)
        let (change, actions) = machine.unsubscribe(["IBM", "AAPL"], now: Self.second)
        #expect(change.changed == ["AAPL"])
        #expect(actions == [.send(#"{"action":"unsubscribe","params":"T.AAPL"}"#)])
        #expect(machine.interest.symbols == ["IBM"])
        #expect(machine.leaseClockTicked(now: 14 * Self.second).0.changed == false)
        let (reclaimed, sent) = machine.leaseClockTicked(now: 15 * Self.second)
        #expect(reclaimed.removed == ["IBM"])
        #expect(sent == [.send(#"{"action":"unsubscribe","params":"T.IBM"}"#)])
        #expect(machine.interest.symbols.isEmpty)
    }

    @Test("leases change the interest while disconnected; the next connection subscribes it whole")
    func whileDisconnected() {
        let configuration = UpstreamConfiguration(url: "ws://127.0.0.1:1/stocks", apiKey: "k", symbols: ["AAPL"], channels: ["T"], maxSymbols: 4)
        var machine = UpstreamConnectionStateMachine(configuration: configuration)
        let (outcome, actions) = machine.leaseReceived(lease("gw-1", ["IBM", "not a ticker"], revision: 1), now: 0)
        #expect(outcome?.added == ["IBM"])
        #expect(actions.isEmpty)
        machine.connecting()
        machine.connectionOpened()
        _ = machine.statusReceived(status: "connected", message: "")
        #expect(machine.statusReceived(status: "auth_success", message: "") == [.markUp, .send(#"{"action":"subscribe","params":"T.AAPL,T.IBM"}"#)])
    }
}
