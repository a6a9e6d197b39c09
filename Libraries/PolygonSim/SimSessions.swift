import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The WebSocket side: one task group per connection (reader, sender, timers) around a
/// ``SimConnectionStateMachine``.
final class SimSessions: Sendable {
    private let configuration: PolygonSimConfiguration
    private let feed: SimFeed
    private let logger: Logger
    private let active = NIOLockedValueBox(0)

    init(configuration: PolygonSimConfiguration, feed: SimFeed, logger: Logger) {
        self.configuration = configuration
        self.feed = feed
        self.logger = logger
    }

    private enum Ending: Sendable {
        case keepGoing
        case close(reason: String)
    }

    func handle(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let count = active.withLockedValue { value in
            value += 1
            return value
        }
        defer { active.withLockedValue { $0 -= 1 } }
        let configuration = self.configuration
        let machine = NIOLockedValueBox(SimConnectionStateMachine(apiKey: configuration.apiKey, rejectAuth: configuration.rejectAuth))
        let overLimit = count > configuration.maxConnections
        let opening = machine.withLockedValue { $0.connected(overLimit: overLimit) }
        guard await perform(opening, outbound) else {
            logger.info("refused connection over the limit", metadata: ["connections": "\(count)"])
            return
        }
        let (clientID, batches) = feed.register()
        defer { feed.unregister(clientID) }
        let authenticatedAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
        let matcher = NIOLockedValueBox(SimSubscriptions.Matcher())
        let feed = self.feed

        let reason: String = await withTaskGroup(of: Ending.self) { group in
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        let action = machine.withLockedValue { $0.received(text: text) }
                        if let applied = action.applied {
                            self.logger.info("subscription changed", metadata: ["change": "\(applied)"])
                            // The market starts or stops symbols before the client reads the
                            // reply: once `unsubscribed` arrives, no newer batch holds the symbol.
                            let subscriptions = machine.withLockedValue { $0.subscriptions }
                            feed.setInterest(clientID, subscriptions) { resolved in matcher.withLockedValue { $0 = resolved } }
                        }
                        guard await self.perform(action, outbound) else { return .close(reason: "protocol") }
                        // Data starts once authenticated, after the oversized message when one is asked for.
                        if machine.withLockedValue({ $0.state == .authenticated }), authenticatedAt.withLockedValue({ $0 == nil }) {
                            if let size = configuration.oversizedMessageBytes {
                                do {
                                    try await Self.sendFragmented(size: size, outbound: outbound)
                                } catch {
                                    return .close(reason: "write failed")
                                }
                            }
                            authenticatedAt.withLockedValue { $0 = .now }
                        }
                    }
                } catch {}
                return .close(reason: "client closed")
            }
            group.addTask {
                try? await Task.sleep(for: configuration.authTimeout)
                let action = machine.withLockedValue { $0.authTimerFired() }
                return await self.perform(action, outbound) ? .keepGoing : .close(reason: "auth timeout")
            }
            if let dropEvery = configuration.dropEvery {
                group.addTask {
                    do {
                        try await Task.sleep(for: dropEvery)
                        return .close(reason: "drop-every")
                    } catch {
                        return .keepGoing
                    }
                }
            }
            group.addTask {
                for await batch in batches {
                    guard let since = authenticatedAt.withLockedValue({ $0 }) else { continue }
                    if let stallAfter = configuration.stallAfter, ContinuousClock.now - since >= stallAfter {
                        continue
                    }
                    let subscriptions = matcher.withLockedValue { $0 }
                    guard subscriptions.wildcard != 0 || !subscriptions.masks.isEmpty else { continue }
                    do {
                        try await self.send(batch, subscriptions: subscriptions, outbound: outbound)
                    } catch {
                        return .close(reason: "write failed")
                    }
                }
                return .close(reason: "feed stopped")
            }
            var reason = "finished"
            for await ending in group {
                if case .close(let why) = ending {
                    reason = why
                    group.cancelAll()
                    break
                }
            }
            return reason
        }
        machine.withLockedValue { $0.closed() }
        logger.info("connection closed", metadata: ["reason": "\(reason)"])
        try? await outbound.close(reason == "drop-every" ? .goingAway : .normalClosure, reason: reason)
    }

    /// One text message of `size` bytes (a JSON array of spaces) as 64 KiB fragments.
    private static func sendFragmented(size: Int, outbound: WebSocketOutboundWriter) async throws {
        let fragment = 64 << 10
        var sent = 0
        while sent < size {
            let length = min(fragment, size - sent)
            var data = ByteBuffer(repeating: UInt8(ascii: " "), count: length)
            if sent == 0 { data.setInteger(UInt8(ascii: "["), at: data.readerIndex) }
            if sent + length == size { data.setInteger(UInt8(ascii: "]"), at: data.writerIndex - 1) }
            try await outbound.write(.custom(.init(fin: sent + length == size, opcode: sent == 0 ? .text : .continuation, data: data)))
            sent += length
        }
    }

    /// Sends the frames of an action; false when the connection is to close.
    private func perform(_ action: SimConnectionStateMachine.Action, _ outbound: WebSocketOutboundWriter) async -> Bool {
        for text in action.send {
            do {
                try await outbound.write(.text(text))
            } catch {
                return false
            }
        }
        return !action.close
    }

    /// The subscribed events of one batch as JSON-array text frames of at most `maxEventsPerFrame`.
    private func send(_ batch: SimFeed.Batch, subscriptions: SimSubscriptions.Matcher, outbound: WebSocketOutboundWriter) async throws {
        var frame = ByteBuffer()
        var inFrame = 0
        for entry in batch.entries {
            let wanted = entry.channel == SimFeed.injected || subscriptions.matches(channel: entry.channel, symbolIndex: entry.symbolIndex)
            guard wanted else { continue }
            frame.writeInteger(inFrame == 0 ? UInt8(ascii: "[") : UInt8(ascii: ","))
            batch.bytes.withUnsafeBufferPointer { pointer in
                _ = frame.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: pointer[entry.start..<entry.end])))
            }
            inFrame += 1
            if inFrame >= configuration.maxEventsPerFrame {
                frame.writeInteger(UInt8(ascii: "]"))
                try await outbound.write(.custom(.init(fin: true, opcode: .text, data: frame)))
                frame = ByteBuffer()
                inFrame = 0
            }
        }
        if inFrame > 0 {
            frame.writeInteger(UInt8(ascii: "]"))
            try await outbound.write(.custom(.init(fin: true, opcode: .text, data: frame)))
        }
    }
}
