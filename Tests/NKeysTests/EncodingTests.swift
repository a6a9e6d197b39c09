import Testing

@testable import NKeys

@Suite struct EncodingTests {
    /// RFC 4648 section 10 vectors.
    static let rfcText = ["", "f", "fo", "foo", "foob", "fooba", "foobar"]

    @Test(arguments: zip(rfcText, ["", "MY", "MZXQ", "MZXW6", "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"]))
    func base32MatchesRFC4648WithoutPadding(text: String, encoded: String) {
        #expect(Base32.encode(Array(text.utf8)) == encoded)
        #expect(Base32.decode(encoded) == Array(text.utf8))
    }

    @Test func base32RejectsWhatItCannotDecode() {
        #expect(Base32.decode("MY======") == nil)  // NKeys never pad
        #expect(Base32.decode("my") == nil)
        #expect(Base32.decode("MZ1") == nil)  // 1, 8, 9 and 0 are not in the alphabet
        #expect(Base32.decode("M") == nil)  // 1, 3 and 6 characters cannot end whole bytes
        #expect(Base32.decode("MZX") == nil)
        #expect(Base32.decode("MZXW6Y") == nil)
    }

    @Test func base32RoundTripsEveryByte() {
        let bytes = (0...255).map(UInt8.init)
        #expect(Base32.decode(Base32.encode(bytes)) == bytes)
    }

    @Test func crc16IsXModem() {
        // The CRC-16/XMODEM check value from the CRC catalogue.
        #expect(CRC16.checksum(Array("123456789".utf8)) == 0x31C3)
        #expect(CRC16.checksum([UInt8]()) == 0)
    }
}
