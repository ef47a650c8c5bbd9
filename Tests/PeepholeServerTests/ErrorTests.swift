import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// Every kind of bad request gets its status and a JSON error, and the server goes on serving.
@Suite struct ErrorTests {
    /// One bad request: where it goes, what it sends, what must come back.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var method: HTTPRequest.Method = .post
        var uri: String = "/predict"
        var body: String? = nil
        var contentType: String? = "application/json"
        var status: HTTPResponse.Status
        var code: String
        /// A fragment the message must contain (the field, the expected and the received).
        var mentions: String

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "malformed JSON", body: #"{"inputs": [[[1, 2]"#, status: .badRequest, code: "invalid_input", mentions: "malformed JSON"),
        Case(name: "missing inputs", body: #"{"top_k": 2}"#, status: .badRequest, code: "invalid_input", mentions: "inputs"),
        Case(name: "unknown field", body: #"{"input": [[1]]}"#, status: .badRequest, code: "invalid_input", mentions: "input"),
        Case(name: "wrong nesting", body: #"{"inputs": [1, 2, 3]}"#, status: .badRequest, code: "invalid_input", mentions: "expected 3 nested levels"),
        Case(name: "ragged array", body: #"{"inputs": [[[1,0,0,0,0,0,0,0,0,0]], [[1,0,0,0,0,0,0,0,0,0], [1,0,0,0,0,0,0,0,0,0]]]}"#,
             status: .badRequest, code: "invalid_input", mentions: "ragged"),
        Case(name: "wrong feature width", body: #"{"inputs": [[[1, 0, 0]]]}"#, status: .badRequest, code: "invalid_input", mentions: "10"),
        Case(name: "non-numeric value", body: #"{"inputs": [[[1,0,0,0,0,0,0,0,0,"x"]]]}"#, status: .badRequest, code: "invalid_input", mentions: "a string"),
        Case(name: "non-finite value", body: #"{"inputs": [[[1,0,0,0,0,0,0,0,0,1e39]]]}"#, status: .badRequest, code: "invalid_input", mentions: "finite"),
        Case(name: "non-integer token id", uri: "/models/embed/predict", body: #"{"inputs": [[1.5, 2, 3, 4, 5, 6, 7]]}"#,
             status: .badRequest, code: "invalid_input", mentions: "1.5"),
        Case(name: "out-of-range token id", uri: "/models/embed/predict", body: #"{"inputs": [[1, 2, 3, 4, 5, 6, 99]]}"#,
             status: .badRequest, code: "invalid_input", mentions: "99"),
        Case(name: "empty batch", body: #"{"inputs": []}"#, status: .badRequest, code: "invalid_input", mentions: "empty"),
        Case(name: "too many steps", body: oneHotInputs(steps: 33), status: .badRequest, code: "invalid_input", mentions: "limit of 32"),
        Case(name: "batch too large", body: oneHotInputs(batch: 5), status: .badRequest, code: "invalid_input", mentions: "limit of 4"),
        Case(name: "nested too deep", body: #"{"inputs": [[[[[[[[[[[[1]]]]]]]]]]]]}"#, status: .badRequest, code: "invalid_input", mentions: "deeper"),
        Case(name: "character outside the vocabulary", body: #"{"text": ["abcdeZ"]}"#, status: .badRequest, code: "invalid_input", mentions: "'Z'"),
        Case(name: "text without vocabulary", uri: "/models/bidi/predict", body: #"{"text": ["abc"]}"#,
             status: .badRequest, code: "not_applicable", mentions: "no vocabulary"),
        Case(name: "states of a Dense layer", uri: "/layers/dense/output", body: #"{"text": ["abcdef"], "states": true}"#,
             status: .badRequest, code: "not_applicable", mentions: "Dense"),
        Case(name: "unknown model", uri: "/models/nope/predict", body: #"{"text": ["abcdef"]}"#, status: .notFound, code: "unknown_model", mentions: "nope"),
        Case(name: "unknown version", uri: "/models/onehot/versions/7/predict", body: #"{"text": ["abcdef"]}"#,
             status: .notFound, code: "unknown_version", mentions: "7"),
        Case(name: "version not a number", method: .get, uri: "/models/onehot/versions/latest", status: .notFound, code: "unknown_version", mentions: "'latest'"),
        Case(name: "unknown layer", uri: "/layers/lstm_9/output", body: #"{"text": ["abcdef"]}"#, status: .notFound, code: "unknown_layer", mentions: "lstm_9"),
        Case(name: "unknown route", method: .get, uri: "/nowhere", status: .notFound, code: "unknown_route", mentions: "/nowhere"),
        Case(name: "wrong method", method: .get, uri: "/predict", status: .methodNotAllowed, code: "method_not_allowed", mentions: "POST"),
        Case(name: "wrong method on a templated route", method: .delete, uri: "/models/onehot", status: .methodNotAllowed, code: "method_not_allowed", mentions: "GET"),
        Case(name: "body over the limit", body: oneHotInputs(batch: 10, steps: 32), status: .contentTooLarge, code: "body_too_large", mentions: "4096"),
        Case(name: "text/plain body", body: #"{"text": ["abcdef"]}"#, contentType: "text/plain", status: .unsupportedMediaType,
             code: "unsupported_media_type", mentions: "text/plain"),
        Case(name: "XML body", body: "<inputs/>", contentType: "application/xml", status: .unsupportedMediaType,
             code: "unsupported_media_type", mentions: "application/xml"),
    ]

    /// Tight limits so the limit cases stay small.
    static var config: ServerConfig {
        var config = ServerConfig.test
        config.maxBatch = 4
        config.maxSteps = 32
        config.maxBodyBytes = 4096
        return config
    }

    @Test(arguments: cases)
    func badRequestGetsItsStatusAndJSONErrorThenServingGoesOn(_ bad: Case) async throws {
        try await withServer(config: Self.config) { client in
            var headers: HTTPFields = [:]
            if let contentType = bad.contentType, bad.body != nil { headers[.contentType] = contentType }
            let response = try await client.execute(uri: bad.uri, method: bad.method, headers: headers, body: bad.body.map { ByteBuffer(string: $0) })
            #expect(response.status == bad.status, "\(response.text)")
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(response.errorCode == bad.code)
            #expect(response.errorMessage.contains(bad.mentions), "\(response.errorMessage)")
            if bad.status == .methodNotAllowed { #expect(response.headers[.allow] != nil) }
            let valid = try await client.post("/predict", #"{"text": ["abcdef"]}"#)
            #expect(valid.status == .ok)
        }
    }

    @Test func withoutADefaultModelTheDefaultRoutesAre404AndNamedRoutesServe() async throws {
        try await withServer(config: ServerConfig()) { client in
            let response = try await client.post("/predict", #"{"text": ["abcdef"]}"#)
            #expect(response.status == .notFound)
            #expect(response.errorCode == "no_default_model")
            #expect(response.errorMessage.contains("onehot"))
            #expect(try await client.get("/models").json["default_model"] is NSNull)
            #expect(try await client.post("/models/onehot/predict", #"{"text": ["abcdef"]}"#).status == .ok)
        }
    }

    @Test func theOnlyModelIsTheDefault() async throws {
        try await withServer(models: [.embed], config: ServerConfig()) { client in
            let response = try await client.post("/predict", #"{"text": ["abcdefg"]}"#)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["model"] as? String == "embed")
        }
    }
}
