import Testing

@testable import NATSTestSupport

/// The claims JSON `NATSJWT` writes and reads.
@Suite struct JSONValueTests {
    @Test func jsonSerializesWithSortedKeysAndEscapes() {
        let value = JSONValue.object([
            "b": .array([.int(-1), .bool(true), .null]),
            "a": .string("q\"\\\n\u{01}é"),
        ])
        #expect(value.serialized == #"{"a":"q\"\\\n\u0001é","b":[-1,true,null]}"#)
        #expect(JSONValue.parse(Array(value.serialized.utf8)) == value)
    }

    @Test func jsonParsesEscapesNumbersAndRejectsJunk() {
        let parsed = JSONValue.parse(Array(#" {"s":"\u00e9\ud83d\ude00\/","n":12,"d":1.5e2,"o":{}} "#.utf8))
        #expect(parsed?["s"]?.stringValue == "é😀/")
        #expect(parsed?["n"]?.intValue == 12)
        #expect(parsed?["d"] == .double(150))
        #expect(parsed?["o"] == .object([:]))
        for junk in ["", "{", "{\"a\":}", "[1,]", "{\"a\":1}x", "\"\\ud83d\"", "tru", "\"\\u+123\"", "-"] {
            #expect(JSONValue.parse(Array(junk.utf8)) == nil, "\(junk)")
        }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(JSONValue.parse(Array(deep.utf8)) == nil)
    }
}
