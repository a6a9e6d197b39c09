import Testing
import XYCore

@Suite("JSON string escaping")
struct JSONTextTests {
    @Test("quotes, backslashes and control characters are escaped; everything else passes as it is")
    func escapes() {
        #expect(JSONText.quoted("") == #""""#)
        #expect(JSONText.quoted("plain xy.md.tick.demo") == #""plain xy.md.tick.demo""#)
        #expect(JSONText.quoted("say \"hi\"\\") == #""say \"hi\"\\""#)
        #expect(JSONText.quoted("a\nb\rc\td") == #""a\nb\rc\td""#)
        #expect(JSONText.quoted("\u{0}\u{1}\u{1F}") == #""\u0000\u0001\u001f""#)
        #expect(JSONText.quoted("é €😀 /") == "\"é €😀 /\"")
        #expect(JSONText.quoted("x"[...]) == #""x""#)
    }

    @Test("appending adds to what is there")
    func append() {
        var out = "{\"k\":"
        JSONText.appendString("v\"", to: &out)
        #expect(out == #"{"k":"v\"""#)
    }

    @Test("the byte writer gives the same bytes as the string form, in runs")
    func byteRuns() {
        for text in ["", "abc", "\"", "a\u{7}b\"c\\", "naïve\n", String(repeating: "x", count: 300) + "\t"] {
            var bytes: [UInt8] = []
            var runs = 0
            JSONText.writeQuoted(text) { run in
                bytes.append(contentsOf: run)
                runs += 1
            }
            #expect(String(decoding: bytes, as: UTF8.self) == JSONText.quoted(text))
            // Unescaped stretches go out whole: quotes, one run per stretch and one per escape.
            #expect(runs <= 2 + 2 * text.utf8.count + 1)
        }
        var runs = 0
        JSONText.writeQuoted(String(repeating: "y", count: 1000)) { _ in runs += 1 }
        #expect(runs == 3)
    }
}
