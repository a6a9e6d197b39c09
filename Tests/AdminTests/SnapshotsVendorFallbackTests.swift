import Foundation
import Testing

/// The snapshots operation's vendor fallback as xy-admin wires it (AdminService →
/// `VendorREST.snapshots`), against `xy sim polygon`'s REST server: a ticker no aggregator group
/// streams is answered from the vendor and marked so, and a vendor that is down leaves it reported
/// on its own entry instead of failing the call.
@Suite("xy-admin: the snapshots' vendor fallback")
struct SnapshotsVendorFallbackTests {
    @Test("a ticker no group streams comes from the vendor's snapshot (source vendor); with the vendor down it is XYA033, still a 200")
    func vendorFallback() async throws {
        // Only SPY is in a group: IBM is in the simulator's universe, streamed by nobody here.
        try await BarsStack.run(overrides: ["AGG_GROUPS": "demo=SPY"]) { stack in
            let path = "/api/v1/market-data/snapshots?tickers=IBM"
            let answer = try await stack.get(path)
            #expect(answer.status == 200, "\(answer.body)")
            let entry = (answer.json["snapshots"] as? [[String: Any]])?.first ?? [:]
            #expect(entry["ticker"] as? String == "IBM")
            #expect(entry["found"] as? Bool == true, "\(answer.body)")
            #expect(entry["source"] as? String == "vendor")
            #expect((entry["last"] as? Double ?? 0) > 0)
            #expect((entry["updated_at"] as? String)?.hasSuffix("Z") == true)

            await stack.stopVendor()
            let without = try await stack.get(path)
            #expect(without.status == 200, "\(without.body)")
            let missing = (without.json["snapshots"] as? [[String: Any]])?.first ?? [:]
            #expect(missing["found"] as? Bool == false)
            #expect(missing["code"] as? String == "XYA033")
        }
    }
}
