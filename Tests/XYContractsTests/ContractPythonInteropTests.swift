import Foundation
import SwiftProtobuf
import Testing
import XYContracts

/// Runs `Tests/Interop/contracts_peer.py` with the generated Python classes, in the venv that
/// `make deps` builds (or `XY_PYTHON`); a missing venv fails the test with the command to fix it.
enum ContractsPythonPeer {
    static func python() throws -> String {
        if let configured = ProcessInfo.processInfo.environment["XY_PYTHON"], FileManager.default.isExecutableFile(atPath: configured) {
            return configured
        }
        let venv = ContractsFolder.repository.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: venv) else {
            throw PeerError("Python virtualenv not found at \(venv): run 'make deps' (or 'make test', which runs it)")
        }
        return venv
    }

    /// Sends the request on stdin, returns what the peer printed; a non-zero exit throws with its stderr.
    static func run(_ request: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = [ContractsFolder.repository.appendingPathComponent("Tests/Interop/contracts_peer.py").path]
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("xy-contracts-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("in.json")
        let output = scratch.appendingPathComponent("out.json")
        let errors = scratch.appendingPathComponent("err.txt")
        try request.write(to: input)
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardInput = try FileHandle(forReadingFrom: input)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PeerError("contracts_peer.py exited \(process.terminationStatus): \(String(decoding: try Data(contentsOf: errors), as: UTF8.self))")
        }
        return try Data(contentsOf: output)
    }

    struct PeerError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

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
    func bothWays() throws {
        let samples = ContractSamples.all
        let request = Request(messages: try samples.map { sample in
            let bytes: [UInt8] = try sample.serializedBytes()
            return Request.Item(type: Swift.type(of: sample).protoMessageName, binary: Data(bytes).base64EncodedString(), json: try sample.jsonString())
        })
        let response = try JSONDecoder().decode(Response.self, from: try ContractsPythonPeer.run(try JSONEncoder().encode(request)))
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
