import Foundation
import NATSTestSupport
import SwiftProtobuf
import Testing
import XYContracts

@Suite("Contracts interoperability with Python's protobuf")
struct ContractPythonInteropTests {
    private struct Request: Encodable {
        struct Item: Encodable {
            let type: String
            let binary: String
            let json: String
        }
        let messages: [Item]
    }

    private struct Response: Decodable {
        struct Item: Decodable {
            let type: String
            let decoded: String
            let encoded: String
        }
        let results: [Item]
    }

    @Test("Swift encodes, Python decodes every message; Python encodes, Swift decodes")
    func bothWays() async throws {
        let samples = ContractSamples.all
        let request = Request(messages: try samples.map { sample in
            let bytes: [UInt8] = try sample.serializedBytes()
            return Request.Item(type: Swift.type(of: sample).protoMessageName, binary: Data(bytes).base64EncodedString(), json: try sample.jsonString())
        })
        // The peer (Tests/Interop/contracts_peer.py, the venv's Python) reads and writes files.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xy-contracts-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let requestFile = directory.appendingPathComponent("request.json")
        let responseFile = directory.appendingPathComponent("response.json")
        try JSONEncoder().encode(request).write(to: requestFile)
        let peer = try PythonPeer.start([requestFile.path, responseFile.path], script: PythonPeer.interopScript("contracts_peer.py"), in: directory.path)
        let (status, output) = try await peer.finish()
        try #require(status == 0, "contracts_peer.py failed: \(output)")
        let response = try JSONDecoder().decode(Response.self, from: try Data(contentsOf: responseFile))
        try #require(response.results.count == samples.count)
        for (sample, result) in zip(samples, response.results) {
            let type = Swift.type(of: sample)
            #expect(result.type == type.protoMessageName)
            // Python's reading of Swift's bytes, as proto3 JSON, is the sample again.
            let decodedByPython = try type.init(jsonString: result.decoded)
            #expect(decodedByPython.isEqualTo(message: sample), "\(result.type): Python decoded \(result.decoded)")
            // Python's own encoding of the sample decodes in Swift to the sample.
            let bytes = try #require(Data(base64Encoded: result.encoded))
            #expect(try type.init(serializedBytes: bytes).isEqualTo(message: sample), "\(result.type): Swift decoding Python's bytes")
        }
    }
}
