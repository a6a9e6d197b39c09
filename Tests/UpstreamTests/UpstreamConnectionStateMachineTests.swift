import Testing
import Upstream

@Suite("Upstream connection state machine")
struct UpstreamConnectionStateMachineTests {
    private func configuration(symbols: [String] = ["AAPL", "MSFT"], maxSymbols: Int = 3) -> UpstreamConfiguration {
        UpstreamConfiguration(
            url: "ws://127.0.0.1:1/stocks", apiKey: "secret-key", symbols: symbols, channels: ["T", "Q"], maxSymbols: maxSymbols,
            backoffInitial: .milliseconds(100), backoffMaximum: .seconds(2), authRetryDelay: .seconds(30), maxConnectionsRetryDelay: .seconds(20)
        )
    }

    /// Drives a fresh connection up to streaming; returns the actions of `auth_success`.
    private func connect(_ machine: inout UpstreamConnectionStateMachine) -> [UpstreamConnectionStateMachine.Action] {
        machine.connecting()
        machine.connectionOpened()
        #expect(machine.statusReceived(status: "connected", message: "Connected Successfully") == [.authenticate])
        return machine.statusReceived(status: "auth_success", message: "authenticated")
    }

    @Test("connect, authenticate, subscribe the whole interest set")
    func happyPath() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration())
        #expect(connect(&machine) == [.markUp, .send(#"{"action":"subscribe","params":"T.AAPL,Q.AAPL,T.MSFT,Q.MSFT"}"#)])
        #expect(machine.state == .streaming)
        #expect(machine.statusReceived(status: "success", message: "subscribed to: T.AAPL").isEmpty)
    }

    @Test("every reconnect authenticates again and resubscribes everything, run-time additions included")
    func resubscribeAfterReconnect() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration())
        _ = connect(&machine)
        let (change, actions) = machine.subscribe(["spy", "AAPL"])
        #expect(change.changed == ["SPY"])
        #expect(actions == [.send(#"{"action":"subscribe","params":"T.SPY,Q.SPY"}"#)])
        let plan = machine.connectionClosed(opened: true, random: 0.5)
        #expect(plan?.failure == .closed)
        #expect(machine.state == .waitingToReconnect)
        #expect(connect(&machine) == [.markUp, .send(#"{"action":"subscribe","params":"T.AAPL,Q.AAPL,T.MSFT,Q.MSFT,T.SPY,Q.SPY"}"#)])
    }

    @Test("interest changes while disconnected wait for the next subscription")
    func changesWhileDown() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration())
        machine.connecting()
        let (change, actions) = machine.unsubscribe(["MSFT"], now: 0)
        #expect(change.changed == ["MSFT"])
        #expect(actions.isEmpty)
        #expect(connect(&machine) == [.markUp, .send(#"{"action":"subscribe","params":"T.AAPL,Q.AAPL"}"#)])
        #expect(machine.unsubscribe(["AAPL"], now: 0).1 == [.send(#"{"action":"unsubscribe","params":"T.AAPL,Q.AAPL"}"#)])
    }

    @Test("the interest set never grows past its maximum")
    func interestMaximum() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration(maxSymbols: 3))
        let (change, _) = machine.subscribe(["SPY", "QQQ", "bad symbol!"])
        #expect(change.changed == ["SPY"])
        #expect(change.rejected == ["QQQ", "bad symbol!"])
        #expect(machine.interest.symbols == ["AAPL", "MSFT", "SPY"])
    }

    @Test("a wildcard subscribes T.* and ignores run-time changes")
    func wildcard() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration(symbols: ["*"]))
        #expect(connect(&machine) == [.markUp, .send(#"{"action":"subscribe","params":"T.*,Q.*"}"#)])
        #expect(machine.subscribe(["SPY"]).1.isEmpty)
    }

    @Test("backoff doubles with jitter, is capped, and resets after a successful connection")
    func backoff() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration())
        var delays: [Duration] = []
        for _ in 0..<8 {
            machine.connecting()
            delays.append(machine.connectionClosed(opened: false, random: 1)!.delay)
        }
        #expect(delays.prefix(5) == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600)])
        #expect(delays.suffix(3).allSatisfy { $0 == .seconds(2) })
        machine.connecting()
        #expect(machine.connectionClosed(opened: false, random: 0)!.delay == .milliseconds(1000))
        _ = connect(&machine)
        #expect(machine.connectionClosed(opened: true, random: 0)!.delay == .milliseconds(50))
    }

    @Test("auth_failed is reported with its code, closes, and retries slowly")
    func authFailed() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration())
        machine.connecting()
        machine.connectionOpened()
        _ = machine.statusReceived(status: "connected", message: "")
        let actions = machine.statusReceived(status: "auth_failed", message: "authentication failed")
        #expect(actions.count == 2)
        guard case .report(let code, let text) = actions[0] else {
            Issue.record("expected a report, got \(actions)")
            return
        }
        #expect(code.rawValue == "XYW101")
        #expect(!text.contains("secret-key"))
        #expect(actions[1] == .close(.authFailed))
        let plan = machine.connectionClosed(opened: true, random: 0)
        #expect(plan?.failure == .authFailed)
        #expect(plan!.delay >= .seconds(27))
    }

    @Test("max_connections has its own code and delay")
    func maxConnections() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration())
        machine.connecting()
        machine.connectionOpened()
        let actions = machine.statusReceived(status: "max_connections", message: "")
        #expect(actions.last == .close(.maxConnections))
        guard case .report(let code, _) = actions.first else {
            Issue.record("expected a report")
            return
        }
        #expect(code.rawValue == "XYW102")
        let plan = machine.connectionClosed(opened: true, random: 0.5)
        #expect(plan?.failure == .maxConnections)
        #expect(plan!.delay >= .seconds(18))
    }

    @Test("silence recycles a streaming connection, not an idle or waiting one")
    func silence() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration())
        #expect(machine.silenceDetected().isEmpty)
        _ = connect(&machine)
        #expect(machine.silenceDetected() == [.close(.silent)])
        #expect(machine.connectionClosed(opened: true, random: 0)?.failure == .silent)
        #expect(machine.silenceDetected().isEmpty)
    }

    @Test("a message over the cap closes with its own failure (XYW109) while connected; nothing between connections")
    func messageTooLarge() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration())
        #expect(machine.messageTooLarge(limit: 1024).isEmpty)
        _ = connect(&machine)
        let actions = machine.messageTooLarge(limit: 1024)
        #expect(actions.last == .close(.messageTooLarge))
        guard case .report(let code, let text) = actions.first else {
            Issue.record("expected a report, got \(actions)")
            return
        }
        #expect(code.rawValue == "XYW109")
        #expect(text.contains("1024 bytes"))
        let plan = machine.connectionClosed(opened: true, random: 0)
        #expect(plan?.failure == .messageTooLarge)
        #expect(plan?.failure.code.rawValue == "XYW109")
        #expect(machine.messageTooLarge(limit: 1024).isEmpty)
    }

    @Test("after stop nothing reconnects")
    func stop() {
        var machine = UpstreamConnectionStateMachine(configuration: configuration())
        _ = connect(&machine)
        #expect(machine.stop() == [.close(.closed)])
        #expect(machine.connectionClosed(opened: true, random: 0) == nil)
    }
}
