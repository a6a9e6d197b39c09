import Testing
import XYCore

@testable import NKeys

@Suite struct NKeyPairTests {
    @Test(arguments: [
        (TestVectors.userSeed, TestVectors.userPublicKey, NKeyType.user),
        (TestVectors.operatorSeed, TestVectors.operatorPublicKey, .operator),
        (TestVectors.accountSeed, TestVectors.accountPublicKey, .account),
        (TestVectors.netOperatorSeed, TestVectors.netOperatorPublicKey, .operator),
        (TestVectors.rustUserSeed, TestVectors.rustUserPublicKey, .user),
        (TestVectors.elixirSeed, TestVectors.elixirPublicKey, .user),
    ])
    func publishedSeedsGiveTheirPublicKeys(seed: String, publicKey: String, type: NKeyType) throws {
        let pair = try NKeyPair(seed: seed)
        #expect(pair.publicKey == publicKey)
        #expect(pair.type == type)
        #expect(pair.seed == seed)
    }

    @Test func signsTheNonceAsNatsCDoes() throws {
        let pair = try NKeyPair(seed: TestVectors.userSeed)
        let signature = try pair.sign(Array("nonce".utf8))
        #expect(signature.count == 64)
        #expect(signature.prefix(2) == [155, 157])
        #expect(Base64URL.encode(signature) == TestVectors.nonceSignature)
    }

    @Test(arguments: TestVectors.elixirSignatures)
    func signsNoncesAsTheElixirLibraryDoes(nonce: String, base64: String) throws {
        let pair = try NKeyPair(seed: TestVectors.elixirSeed)
        let urlAlphabet = String(base64.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
        let expected = try #require(Base64URL.decode(urlAlphabet))
        #expect(try pair.sign(Array(nonce.utf8)) == expected)
        #expect(try NKeyPair(publicKey: TestVectors.elixirPublicKey).verify(signature: expected, message: nonce.utf8))
    }

    @Test(arguments: NKeyType.allCases)
    func generatedKeysRoundTripThroughTheirSeed(type: NKeyType) throws {
        let pair = NKeyPair.generate(type)
        let seed = try #require(pair.seed)
        #expect(seed.hasPrefix("S" + String(type.publicKeyPrefix)))
        #expect(seed.count == 58)
        #expect(pair.publicKey.first == type.publicKeyPrefix)
        #expect(pair.publicKey.count == 56)

        let parsed = try NKeyPair(seed: "\n  " + seed + " \r\n")
        #expect(parsed.publicKey == pair.publicKey)
        #expect(parsed.type == type)

        let publicOnly = try NKeyPair(publicKey: pair.publicKey)
        #expect(publicOnly.type == type)
        #expect(publicOnly.publicKey == pair.publicKey)
        #expect(publicOnly.seed == nil)
        #expect(!publicOnly.canSign)
    }

    @Test(arguments: NKeyType.allCases)
    func signaturesVerifyAndAFlippedBitFails(type: NKeyType) throws {
        let pair = NKeyPair.generate(type)
        let message = Array("INFO nonce 4kL2x".utf8)
        let signature = try pair.sign(message)
        let verifier = try NKeyPair(publicKey: pair.publicKey)
        #expect(verifier.verify(signature: signature, message: message))

        var badSignature = signature
        badSignature[10] ^= 0x01
        #expect(!verifier.verify(signature: badSignature, message: message))
        var badMessage = message
        badMessage[0] ^= 0x01
        #expect(!verifier.verify(signature: signature, message: badMessage))
        #expect(!verifier.verify(signature: Array(signature.dropLast()), message: message))
        #expect(!NKeyPair.generate(type).verify(signature: signature, message: message))
    }

    @Test func signsAnEmptyMessage() throws {
        let pair = NKeyPair.generate(.user)
        let signature = try pair.sign([UInt8]())
        #expect(pair.verify(signature: signature, message: [UInt8]()))
    }

    @Test func publicOnlyPairsCannotSign() throws {
        let pair = try NKeyPair(publicKey: TestVectors.userPublicKey)
        #expect(code { _ = try pair.sign(Array("x".utf8)) } == .publicKeyOnly)
    }

    @Test func aFlippedCharacterFailsTheChecksum() throws {
        for text in [TestVectors.userSeed, TestVectors.userPublicKey] {
            for index in [3, 20, 40, text.count - 3] {
                var chars = Array(text)
                chars[index] = chars[index] == "A" ? "B" : "A"
                let corrupted = String(chars)
                let expected = NKeyError.Code.invalidChecksum
                #expect(code { _ = try NKeyPair(seed: corrupted) } == expected, "index \(index) of \(text.prefix(2))")
                #expect(code { _ = try NKeyPair(publicKey: corrupted) } == expected)
            }
        }
    }

    @Test func rejectsMalformedInputWithTheRightCode() throws {
        // Not base32: lower case, punctuation, `=` padding, an impossible length.
        #expect(code { _ = try NKeyPair(seed: TestVectors.userSeed.lowercased()) } == .invalidEncoding)
        #expect(code { _ = try NKeyPair(seed: "SUAM!K2FG") } == .invalidEncoding)
        #expect(code { _ = try NKeyPair(publicKey: TestVectors.userPublicKey + "====") } == .invalidEncoding)
        #expect(code { _ = try NKeyPair(publicKey: String(TestVectors.userPublicKey.dropLast(2))) } == .invalidEncoding)
        #expect(code { _ = try NKeyPair(seed: "") } == .invalidEncoding)
        #expect(code { _ = try NKeyPair(seed: "SUAM") } == .invalidEncoding)

        // Truncated by whole bytes: still base32, but the checksum no longer matches.
        #expect(code { _ = try NKeyPair(seed: String(TestVectors.userSeed.dropLast(8))) } == .invalidChecksum)
        #expect(code { _ = try NKeyPair(publicKey: String(TestVectors.userPublicKey.dropLast(8))) } == .invalidChecksum)

        // Wrong prefix: a public key where a seed belongs and the reverse.
        #expect(code { _ = try NKeyPair(seed: TestVectors.userPublicKey) } == .invalidPrefix)
        #expect(code { _ = try NKeyPair(publicKey: TestVectors.userSeed) } == .invalidPrefix)
        // A seed whose type bits name no key type (checksum recomputed so only the prefix is wrong).
        #expect(code { _ = try NKeyPair(seed: encoded([NKeyPrefix.seed, 3 << 3] + Array(repeating: 7, count: 32))) }
            == .invalidPrefix)
        // A private-key prefix (`P…`) is not a public key.
        #expect(code { _ = try NKeyPair(publicKey: encoded([15 << 3] + Array(repeating: 7, count: 32))) }
            == .invalidPrefix)

        // Right prefix and checksum, wrong length.
        let userPrefix = NKeyType.user.prefixByte
        #expect(code { _ = try NKeyPair(publicKey: encoded([userPrefix] + Array(repeating: 1, count: 31))) }
            == .invalidPublicKey)
        #expect(code { _ = try NKeyPair(seed: encoded([NKeyPrefix.seed | (userPrefix >> 5), (userPrefix & 31) << 3]
            + Array(repeating: 1, count: 33))) } == .invalidSeed)
    }

    @Test func descriptionsNeverShowTheSeed() throws {
        let pair = try NKeyPair(seed: TestVectors.userSeed)
        for text in [pair.description, String(reflecting: pair), "\(pair)", dumped(pair), "\([pair])"] {
            #expect(!text.contains(TestVectors.userSeed))
            #expect(!text.contains("SUAM"))
        }
        #expect(pair.description == "NKeyPair(user, \(TestVectors.userPublicKey))")
    }

    @Test func errorsNeverQuoteTheirInput() {
        let almostSeed = String(TestVectors.userSeed.dropLast()) + "A"
        for error in [catching { _ = try NKeyPair(seed: almostSeed) },
                      catching { _ = try NKeyPair(publicKey: TestVectors.userSeed) }] {
            let text = error.map { "\($0)" } ?? ""
            #expect(!text.isEmpty)
            #expect(!text.contains("SUAM"))
        }
    }

    @Test func everyTypeHasTheNKeysPrefixByte() {
        #expect(NKeyType.user.prefixByte == 20 << 3)
        #expect(NKeyType.account.prefixByte == 0)
        #expect(NKeyType.operator.prefixByte == 14 << 3)
        #expect(NKeyType.server.prefixByte == 13 << 3)
        #expect(NKeyType.cluster.prefixByte == 2 << 3)
        #expect(NKeyPrefix.seed == 18 << 3)
    }
}

/// The code of the `NKeyError` that `body` throws, or nil when it does not throw.
func code(_ body: () throws -> Void) -> NKeyError.Code? {
    catching(body)?.code
}

/// The `NKeyError` that `body` throws, or nil; any other error is recorded as an issue.
func catching(_ body: () throws -> Void) -> NKeyError? {
    do {
        try body()
        return nil
    } catch let error as NKeyError {
        return error
    } catch {
        Issue.record("expected an NKeyError, got \(error)")
        return nil
    }
}

/// `body` + CRC16 in NKeys' base32 form, to build keys that are wrong in only one way.
func encoded(_ body: [UInt8]) -> String {
    let crc = CRC16.checksum(body)
    return Base32.encode(body + [UInt8(crc & 0xFF), UInt8(crc >> 8)])
}

/// What `dump` prints for `value`.
func dumped(_ value: some Any) -> String {
    var out = ""
    dump(value, to: &out)
    return out
}

extension NKeyType {
    /// The first character of this type's encoded public key, as the NKeys format defines it.
    fileprivate var publicKeyPrefix: Character {
        switch self {
        case .user: return "U"
        case .account: return "A"
        case .operator: return "O"
        case .server: return "N"
        case .cluster: return "C"
        }
    }
}
