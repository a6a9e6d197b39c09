import Testing
import XYContracts

/// The symbol → group mapping every service shares: fixed expected values, so a change of hash
/// or naming (which would move symbols between groups across a rolling upgrade) fails here.
@Suite struct SymbolGroupsTests {
    @Test func fnv1aMatchesTheReferenceVectors() {
        #expect(SymbolGroups.fnv1a("") == 0x811C_9DC5)
        #expect(SymbolGroups.fnv1a("a") == 0xE40C_292C)
        #expect(SymbolGroups.fnv1a("AAPL") == 1_489_842_955)
        #expect(SymbolGroups.fnv1a("IBM") == 3_787_003_469)
    }

    @Test func unconfiguredSymbolsHashOntoStableDynamicGroups() {
        let groups = SymbolGroups(configured: [], dynamicCount: 16)
        #expect(groups.dynamicNames.count == 16 && groups.dynamicNames.first == "dyn-00" && groups.dynamicNames.last == "dyn-15")
        #expect(groups.group(of: "AAPL") == "dyn-11")
        #expect(groups.group(of: "IBM") == "dyn-13")
        #expect(groups.group(of: "TSLA") == "dyn-15")
        #expect(groups.group(of: "BRK.B") == "dyn-10")
        #expect(groups.group(of: "S0001") == "dyn-05")
        #expect(groups.configuredGroup(of: "IBM") == nil)
    }

    @Test func configuredGroupsWinAndTheFirstOneHoldsASharedSymbol() {
        let groups = SymbolGroups(configured: [("demo", ["AAPL", "MSFT"]), ("tech", ["NVDA", "AAPL"])], dynamicCount: 16)
        #expect(groups.group(of: "AAPL") == "demo")
        #expect(groups.group(of: "NVDA") == "tech")
        #expect(groups.configuredGroup(of: "MSFT") == "demo")
        #expect(groups.group(of: "IBM") == "dyn-13", "configured groups do not move dynamic symbols")
        #expect(groups.configuredNames == ["demo", "tech"])
    }

    @Test func theCountSetsTheNamesWidthAndIsClamped() {
        let hundred = SymbolGroups(configured: [], dynamicCount: 100)
        #expect(hundred.dynamicNames.last == "dyn-99")
        #expect(hundred.group(of: "AAPL") == "dyn-55")
        let wide = SymbolGroups(configured: [], dynamicCount: 101)
        #expect(wide.dynamicNames.first == "dyn-000" && wide.dynamicNames.last == "dyn-100")
        #expect(SymbolGroups(configured: [], dynamicCount: 0).dynamicNames == ["dyn-00"])
        #expect(SymbolGroups(configured: [], dynamicCount: 5000).dynamicCount == SymbolGroups.maximumDynamicCount)
    }

    @Test func dynamicGroupNamesAreRecognisedExactly() {
        let groups = SymbolGroups(configured: [], dynamicCount: 16)
        #expect(groups.dynamicIndex(ofGroup: "dyn-07") == 7)
        #expect(groups.isDynamicGroup("dyn-15"))
        #expect(!groups.isDynamicGroup("dyn-16"), "beyond the count")
        #expect(!groups.isDynamicGroup("dyn-7"), "not the canonical spelling")
        #expect(!groups.isDynamicGroup("demo"))
    }
}
