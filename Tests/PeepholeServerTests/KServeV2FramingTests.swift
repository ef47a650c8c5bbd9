import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// Hostile V2 bodies: each framing fault is a precise 400 (or 404 for what does not exist) in
/// `{"error": "<message>"}`, and the server goes on answering.
@Suite struct KServeV2FramingTests {
    /// A body for the one-hot model: one batch row, binary FP32 of `size` declared bytes.
    static func header(size: String = "240", shape: String = "[1, 6, 10]", datatype: String = "FP32", outputs: String? = nil) -> String {
        #"{"inputs": [{"name": "input", "shape": \#(shape), "datatype": "\#(datatype)", "parameters": {"binary_data_size": \#(size)}}]\#(outputs.map { #", "outputs": \#($0)"# } ?? "")}"#
    }

    static let row = bytes(oneHotFlat(batch: 1))

    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var header: String
        var binary: [UInt8]?
        var headerLength: String?
        var status: HTTPResponse.Status = .badRequest
        var message: String
    }

    static let cases: [Case] = [
        Case(description: "header length past the body", header: header(), binary: row, headerLength: "100000",
             message: "Inference-Header-Content-Length: 100000 exceeds the body's"),
        Case(description: "header length not a number", header: header(), binary: row, headerLength: "12ab",
             message: "Inference-Header-Content-Length: '12ab' is not a byte count"),
        Case(description: "negative header length", header: header(), binary: row, headerLength: "-5",
             message: "Inference-Header-Content-Length: '-5' is not a byte count"),
        Case(description: "raw body without a header", header: header(), binary: row, headerLength: "0",
             message: "Inference-Header-Content-Length: 0 (a body of raw tensor data"),
        Case(description: "binary sizes short of the binary part", header: header(size: "240"), binary: row + [0, 0, 0, 0],
             message: "body: the binary part has 244 bytes, the inputs' binary_data_size add up to 240"),
        Case(description: "binary size past the end", header: header(size: "480"), binary: row,
             message: "input 'input'.parameters.binary_data_size: 480 bytes run past the end of the body (240 bytes left)"),
        Case(description: "binary size overflowing", header: header(size: "18446744073709551616"), binary: row,
             message: "input 'input'.parameters.binary_data_size: expected an integer in 0...1000000000000000"),
        Case(description: "binary size disagreeing with shape and datatype", header: header(size: "240", datatype: "FP64"), binary: row,
             message: "input 'input'.parameters.binary_data_size: 240 bytes, but shape [1, 6, 10] of FP64 needs 480"),
        Case(description: "BYTES length past the end", header: header(size: "8", shape: "[1]", datatype: "BYTES"), binary: [100, 0, 0, 0, 97, 98, 99, 100],
             message: "input 'input': BYTES element 0 has length 100, past the end of the input's binary data (4 bytes left)"),
        Case(description: "output requested twice", header: header(outputs: #"[{"name": "dense"}, {"name": "dense"}]"#), binary: row,
             message: "outputs: output 'dense' is requested twice"),
        Case(description: "JSON header not an object", header: "[1, 2, 3]", binary: [],
             message: "body: the JSON header must be an object, got an array of 3"),
        Case(description: "unknown output", header: header(outputs: #"[{"name": "lstm/gates/x"}]"#), binary: row, status: .notFound,
             message: "model 'onehot' has no output 'lstm/gates/x': layer 'lstm' has outputs like"),
        Case(description: "unknown input", header: #"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"#,
             message: "inputs: unexpected input 'x': model 'onehot' takes 'input'"),
        Case(description: "unsupported datatype", header: header(datatype: "FP16"), binary: row,
             message: "input 'input'.datatype: 'FP16' is not supported (FP32, FP64, INT32, INT64 or BYTES)"),
        Case(description: "data not filling the shape", header: #"{"inputs": [{"name": "input", "shape": [1, 6, 10], "datatype": "FP32", "data": [1, 2, 3]}]}"#,
             message: "input 'input'.data: 3 elements, but shape [1, 6, 10] holds 60"),
        Case(description: "wrong feature width", header: #"{"inputs": [{"name": "input", "shape": [1, 2, 3], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6]}]}"#,
             message: "input: expected shape (None, 6, 10), got [1, 2, 3]"),
        Case(description: "units on a layer output", header: header(outputs: #"[{"name": "lstm", "parameters": {"units": [0]}}]"#), binary: row,
             message: "output 'lstm'.parameters: units, steps_from and steps_to filter per-step outputs"),
        Case(description: "unit out of range", header: header(outputs: #"[{"name": "lstm/sequence", "parameters": {"units": [8]}}]"#), binary: row,
             message: "output 'lstm/sequence'.parameters.units: unit 8 is out of range: layer 'lstm' has 8 units"),
        Case(description: "unknown field", header: #"{"inputs": [], "priority": 1}"#,
             message: "priority: unknown field (accepted: id, inputs, outputs, parameters)"),
        Case(description: "malformed JSON", header: #"{"inputs": ["#, binary: row,
             message: "body: malformed JSON at byte"),
    ]

    @Test(arguments: cases) func hostileBodyIsAPreciseErrorAndTheServerGoesOn(_ hostile: Case) async throws {
        try await withServer(models: [.onehot]) { client in
            let response = try await client.v2("/v2/models/onehot/infer", hostile.header, binary: hostile.binary, headerLength: hostile.headerLength)
            #expect(response.status == hostile.status)
            let message = try #require(response.protocolError, "body: \(response.text)")
            #expect(message.hasPrefix(hostile.message), "got: \(message)")
            let valid = try await client.v2("/v2/models/onehot/infer", Self.header(), binary: Self.row)
            #expect(valid.status == .ok)
        }
    }

    @Test func peepholeRoutesKeepTheirOwnErrorBody() async throws {
        try await withServer(models: [.onehot]) { client in
            let response = try await client.post("/predict", "[1]")
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "invalid_input")
        }
    }
}
