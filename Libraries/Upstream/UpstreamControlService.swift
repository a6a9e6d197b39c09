import Logging
import NATS
import NIOCore
import ServiceLifecycle
import XYContracts
import XYCore

/// Answers `xy.ctl.upstream.subscribe` / `xy.ctl.upstream.unsubscribe` requests, so the union of
/// what users watch is what the vendor is asked for.
///
/// Request payload: `{"symbols":["AAPL","MSFT"]}` or plain `AAPL,MSFT`. Reply:
/// `{"ok":true,"changed":[…],"rejected":[…],"symbols":N,"max":M}`; `ok` is false with `code`
/// XYW107 when a symbol was refused (over the maximum or not a ticker).
public struct UpstreamControlService: Service {
    private let nats: NATSClient
    private let upstream: UpstreamClient
    private let logger: Logger

    public init(nats: NATSClient, upstream: UpstreamClient, logger: Logger) {
        self.nats = nats
        self.upstream = upstream
        self.logger = logger
    }

    public func run() async throws {
        let subscribe = try nats.subscribe(Subjects.upstreamSubscribe)
        let unsubscribe = try nats.subscribe(Subjects.upstreamUnsubscribe)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.serve(subscribe, adding: true) }
                group.addTask { await self.serve(unsubscribe, adding: false) }
            }
        }
        try? subscribe.unsubscribe()
        try? unsubscribe.unsubscribe()
    }

    private func serve(_ subscription: NATSSubscription, adding: Bool) async {
        do {
            for try await message in subscription {
                let symbols = Self.parseSymbols(message.payload)
                let change = adding ? await upstream.subscribe(symbols) : await upstream.unsubscribe(symbols)
                let interest = upstream.interest
                var reply = "{\"ok\":\(change.rejected.isEmpty)"
                if !change.rejected.isEmpty {
                    reply += ",\"code\":\"\(XYErrorCode.upstreamInterestLimit)\""
                }
                reply += ",\"changed\":[" + change.changed.map(JSONText.quoted).joined(separator: ",") + "]"
                reply += ",\"rejected\":[" + change.rejected.map(JSONText.quoted).joined(separator: ",") + "]"
                reply += ",\"symbols\":\(interest.isWildcard ? "\"*\"" : String(interest.symbols.count)),\"max\":\(interest.maximum)}"
                logger.info(adding ? "interest grew" : "interest shrank", metadata: ["changed": "\(change.changed.count)", "rejected": "\(change.rejected.count)"])
                if let replyTo = message.replyTo {
                    try? nats.publish(replyTo, reply)
                }
            }
        } catch {
            logger.warning("control subscription ended", metadata: ["error": "\(error)"])
        }
    }

    /// `{"symbols":[…]}` or a comma/space separated list.
    static func parseSymbols(_ payload: ByteBuffer) -> [String] {
        let text = String(buffer: payload)
        var body = Substring(text)
        if let open = text.firstIndex(of: "["), let close = text.lastIndex(of: "]"), open < close {
            body = text[text.index(after: open)..<close]
        }
        return body.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" || $0 == "\"" || $0 == "\t" })
            .map { String($0) }
            .filter { !$0.isEmpty }
    }
}
