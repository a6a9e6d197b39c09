import Testing
import XYCore

@Suite("base64url")
struct Base64URLTests {
    /// RFC 4648 section 10 vectors.
    static let rfcText = ["", "f", "fo", "foo", "foob", "fooba", "foobar"]

    @Test("matches RFC 4648 without padding", arguments: zip(rfcText, ["", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"]))
    func rfcVectors(text: String, encoded: String) {
        #expect(Base64URL.encode(Array(text.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(text.utf8))
    }

    @Test("uses the URL alphabet and accepts padding on input")
    func urlAlphabet() {
        // Standard base64 of these bytes is "+/+/" and "+/8=".
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_")
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode("-_8=") == [0xFB, 0xFF])
        #expect(Base64URL.decode("-_8") == [0xFB, 0xFF])
        #expect(Base64URL.decode("Zg==") == Array("f".utf8))
    }

    @Test("refuses what it cannot decode")
    func refusals() {
        #expect(Base64URL.decode("+/8=") == nil)  // standard alphabet
        #expect(Base64URL.decode("Zm9vY") == nil)  // one character past a quantum
        #expect(Base64URL.decode("Zg=") == nil)  // padding to a non-multiple of 4
        #expect(Base64URL.decode("Zg===") == nil)
        #expect(Base64URL.decode("Z=g=") == nil)
        #expect(Base64URL.decode("Zm 9v") == nil)
    }

    @Test("round-trips every byte value and every length up to a few quanta")
    func roundTrip() {
        let bytes = (0...255).map(UInt8.init)
        #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        for length in 0...13 {
            let prefix = Array(bytes.reversed().prefix(length))
            let encoded = Base64URL.encode(prefix)
            #expect(!encoded.contains("=") && !encoded.contains("+") && !encoded.contains("/"))
            #expect(Base64URL.decode(encoded) == prefix)
            #expect(Base64URL.decode(Substring(encoded)) == prefix)
        }
    }
}
