import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// The KServe V2 routes answer as the Open Inference Protocol and Triton's binary extension say,
/// with the Peephole API's numbers.
@Suite struct KServeV2RouteTests {
    @Test func serverHealthAndMetadataAnswerAsTriton() async throws {
        try await withServer { client in
            #expect(try await client.get("/v2/health/live").status == .ok)
            #expect(try await client.get("/v2/health/ready").status == .ok)
            let server = try await client.get("/v2").json
            #expect(server["name"] as? String == "peephole")
            #expect((server["extensions"] as? [String])?.contains("binary_tensor_data") == true)
        }
    }

    @Test func modelMetadataNamesInputsAndOutputsWithVariableDimensions() async throws {
        try await withServer { client in
            for uri in ["/v2/models/onehot", "/v2/models/onehot/versions/1"] {
                let json = try await client.get(uri).json
                #expect(json["name"] as? String == "onehot")
                #expect(json["versions"] as? [String] == ["1"])
                #expect(json["platform"] as? String == "keras_lstm")
                let input = try #require((json["inputs"] as? [[String: Any]])?.first)
                // The Keras model's input name; `input` is accepted too for a one-input model.
                #expect(input["name"] as? String == "input_layer")
                #expect(input["datatype"] as? String == "FP32")
                #expect(input["shape"] as? [Int] == [-1, 6, 10])
                let output = try #require((json["outputs"] as? [[String: Any]])?.first)
                #expect(output["name"] as? String == "dense")
                #expect(output["shape"] as? [Int] == [-1, 10])
            }
            let embed = try await client.get("/v2/models/embed").json
            #expect((embed["inputs"] as? [[String: Any]])?.first?["datatype"] as? String == "INT32")
            #expect(try await client.get("/v2/models/onehot/ready").status == .ok)
            #expect(try await client.get("/v2/models/onehot/versions/1/ready").status == .ok)
            let unknown = try await client.get("/v2/models/nope/ready")
            #expect(unknown.status == .notFound)
            #expect(unknown.protocolError == "unknown model 'nope'")
            let version = try await client.get("/v2/models/onehot/versions/9")
            #expect(version.status == .notFound)
            #expect(version.protocolError == "model 'onehot' has no version 9")
        }
    }

    @Test func jsonInferMatchesPredictAndEchoesTheID() async throws {
        try await withServer { client in
            let input = oneHotFlat(batch: 2)
            let expected = flat(try await client.post("/predict", #"{"inputs": \#(oneHotJSON(input, batch: 2))}"#).json["outputs"])
            let data = input.map { String(Int($0)) }.joined(separator: ",")
            let response = try await client.v2("/v2/models/onehot/infer", #"{"id": "r1", "inputs": [{"name": "input", "shape": [2, 6, 10], "datatype": "FP32", "data": [\#(data)]}]}"#)
            #expect(response.status == .ok)
            #expect(response.headers[KServeV2Controller.headerLength] == nil)
            let (json, outputs) = response.v2
            #expect(json["id"] as? String == "r1")
            #expect(json["model_name"] as? String == "onehot")
            #expect(json["model_version"] as? String == "1")
            let output = try #require((json["outputs"] as? [[String: Any]])?.first)
            #expect(output["name"] as? String == "dense")
            #expect(output["datatype"] as? String == "FP32")
            #expect(output["shape"] as? [Int] == [2, 10])
            #expect(close(outputs["dense"] ?? [], expected))
        }
    }

    @Test func binaryInferMatchesPredictBothWays() async throws {
        try await withServer { client in
            let input = oneHotFlat(batch: 3)
            let expected = flat(try await client.post("/predict", #"{"inputs": \#(oneHotJSON(input, batch: 3))}"#).json["outputs"])
            let header = #"{"inputs": [{"name": "input", "shape": [3, 6, 10], "datatype": "FP32", "parameters": {"binary_data_size": \#(input.count * 4)}}], "parameters": {"binary_data_output": true}}"#
            let response = try await client.v2("/v2/models/onehot/infer", header, binary: bytes(input))
            #expect(response.status == .ok)
            #expect(response.headers[KServeV2Controller.headerLength] != nil)
            let (json, outputs) = response.v2
            let output = try #require((json["outputs"] as? [[String: Any]])?.first)
            #expect((output["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 3 * 10 * 4)
            #expect(output["data"] == nil)
            #expect(close(outputs["dense"] ?? [], expected))
            // One output asked in binary, the default otherwise JSON.
            let mixed = #"{"inputs": [{"name": "input", "shape": [3, 6, 10], "datatype": "FP32", "parameters": {"binary_data_size": \#(input.count * 4)}}], "outputs": [{"name": "dense", "parameters": {"binary_data": false}}], "parameters": {"binary_data_output": true}}"#
            let json2 = try await client.v2("/v2/models/onehot/infer", mixed, binary: bytes(input))
            #expect(json2.headers[KServeV2Controller.headerLength] == nil)
            #expect(close(json2.v2.outputs["dense"] ?? [], expected))
        }
    }

    @Test func anyLayerStateAndGateIsAnOutputWithTheLayerRoutesNumbers() async throws {
        try await withServer { client in
            let input = oneHotFlat(batch: 2)
            let layer = try await client.post("/layers/lstm/output", #"{"inputs": \#(oneHotJSON(input, batch: 2)), "states": true, "gates": true, "preactivations": true, "sequences": true, "units": [1, 3], "steps": {"from": 2, "to": 5}}"#).json
            let states = try #require(layer["states"] as? [String: Any])
            let gates = try #require(layer["gates"] as? [String: Any])
            let preactivations = try #require(layer["preactivations"] as? [String: Any])
            let perStep = #"{"units": [1, 3], "steps_from": 2, "steps_to": 5, "binary_data": true}"#
            let header = #"""
            {"inputs": [{"name": "input", "shape": [2, 6, 10], "datatype": "FP32", "parameters": {"binary_data_size": \#(input.count * 4)}}],
             "outputs": [{"name": "lstm"}, {"name": "lstm/h", "parameters": {"binary_data": true}}, {"name": "lstm/c"},
                         {"name": "lstm/sequence", "parameters": \#(perStep)}, {"name": "lstm/gates/f", "parameters": \#(perStep)},
                         {"name": "lstm/gates/c", "parameters": \#(perStep)}, {"name": "lstm/preactivations/o", "parameters": \#(perStep)}]}
            """#
            let response = try await client.v2("/v2/models/onehot/infer", header, binary: bytes(input))
            #expect(response.status == .ok)
            let (json, outputs) = response.v2
            #expect((json["outputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["lstm", "lstm/h", "lstm/c", "lstm/sequence", "lstm/gates/f", "lstm/gates/c", "lstm/preactivations/o"])
            #expect((json["outputs"] as? [[String: Any]])?[3]["shape"] as? [Int] == [2, 3, 2])
            #expect(close(outputs["lstm"] ?? [], flat(layer["output"])))
            #expect(close(outputs["lstm/h"] ?? [], flat(states["h"])))
            #expect(close(outputs["lstm/c"] ?? [], flat(states["c"])))
            #expect(close(outputs["lstm/sequence"] ?? [], flat(layer["sequence"])))
            #expect(close(outputs["lstm/gates/f"] ?? [], flat(gates["f"])))
            #expect(close(outputs["lstm/gates/c"] ?? [], flat(gates["c"])))
            #expect(close(outputs["lstm/preactivations/o"] ?? [], flat(preactivations["o"])))
        }
    }

    @Test func bidirectionalStatesArePerDirection() async throws {
        try await withServer { client in
            let ids: [Int64] = [3, 1, 4, 1, 5, 0, 0]
            let layer = try await client.post("/models/bidi/layers/bidirectional/output", #"{"inputs": [[3, 1, 4, 1, 5, 0, 0]], "states": true}"#).json
            let states = try #require(layer["states"] as? [String: Any])
            let header = #"{"inputs": [{"name": "input", "shape": [1, 7], "datatype": "INT64", "parameters": {"binary_data_size": 56}}], "outputs": [{"name": "bidirectional/forward/h"}, {"name": "bidirectional/backward/c"}]}"#
            let response = try await client.v2("/v2/models/bidi/infer", header, binary: bytes(int64: ids))
            #expect(response.status == .ok)
            let outputs = response.v2.outputs
            #expect(close(outputs["bidirectional/forward/h"] ?? [], flat((states["forward"] as? [String: Any])?["h"])))
            #expect(close(outputs["bidirectional/backward/c"] ?? [], flat((states["backward"] as? [String: Any])?["c"])))
            let plain = try await client.v2("/v2/models/bidi/infer", #"{"inputs": [{"name": "input", "shape": [1, 7], "datatype": "INT32", "data": [3, 1, 4, 1, 5, 0, 0]}], "outputs": [{"name": "bidirectional/h"}]}"#)
            #expect(plain.status == .notFound)
            #expect(plain.protocolError?.contains("'bidirectional/forward/h'") == true)
        }
    }

    @Test func textGoesInAsBytesThroughTheVocabulary() async throws {
        try await withServer { client in
            let expected = flat(try await client.post("/predict", #"{"text": ["abcdef", "jihgfe"]}"#).json["outputs"])
            let json = try await client.v2("/v2/models/onehot/infer", #"{"inputs": [{"name": "input", "shape": [2], "datatype": "BYTES", "data": ["abcdef", "jihgfe"]}]}"#)
            #expect(close(json.v2.outputs["dense"] ?? [], expected))
            let binary = bytes(strings: ["abcdef", "jihgfe"])
            let response = try await client.v2("/v2/models/onehot/infer", #"{"inputs": [{"name": "input", "shape": [2, 1], "datatype": "BYTES", "parameters": {"binary_data_size": \#(binary.count)}}]}"#, binary: binary)
            #expect(close(response.v2.outputs["dense"] ?? [], expected))
            // Text errors name the input the client sent, not the Peephole API's `text`.
            let unknown = try await client.v2("/v2/models/onehot/infer", #"{"inputs": [{"name": "input", "shape": [2], "datatype": "BYTES", "data": ["abcdef", "abcxyz"]}]}"#)
            #expect(unknown.status == .badRequest)
            #expect(unknown.protocolError == "input[1]: character 'x' (U+78) at position 3 is not in the vocabulary", "\(unknown.protocolError ?? "")")
        }
    }

    @Test func aSequenceCarriesStateLikeAPeepholeSessionAndStaysReadable() async throws {
        try await withServer { client in
            let session = try #require(try await client.post("/sessions", "").json["session"] as? String)
            let chunks = (0..<3).map { chunk in oneHotFlat(batch: 1).enumerated().map { index, value in index / 10 == chunk ? 1 - value : value } }
            for (index, chunk) in chunks.enumerated() {
                let expected = flat(try await client.post("/sessions/\(session)/step", #"{"inputs": \#(oneHotJSON(chunk))}"#).json["outputs"])
                let flags = index == 0 ? #""sequence_start": true"# : index == 2 ? #""sequence_end": true"# : #""sequence_start": false"#
                let header = #"{"parameters": {"sequence_id": 42, \#(flags)}, "inputs": [{"name": "input", "shape": [1, 6, 10], "datatype": "FP32", "parameters": {"binary_data_size": 240}}]}"#
                let response = try await client.v2("/v2/models/onehot/infer", header, binary: bytes(chunk))
                #expect(response.status == .ok)
                #expect(close(response.v2.outputs["dense"] ?? [], expected))
            }
            let state = try await client.get("/sessions/v2-onehot-42")
            #expect(state.status == .ok)
            #expect(state.json["steps"] as? Int == 3)
            let peephole = try await client.get("/sessions/\(session)").json
            #expect(close(flat(((state.json["states"] as? [String: Any])?["lstm"] as? [String: Any])?["h"]),
                          flat(((peephole["states"] as? [String: Any])?["lstm"] as? [String: Any])?["h"])))
            let ended = try await client.v2("/v2/models/onehot/infer", #"{"parameters": {"sequence_id": 42}, "inputs": [{"name": "input", "shape": [1, 6, 10], "datatype": "FP32", "data": \#(oneHotJSON(chunks[0]))}]}"#)
            #expect(ended.status == .badRequest)
            #expect(ended.protocolError?.contains("has ended") == true)
            let unstarted = try await client.v2("/v2/models/onehot/infer", #"{"parameters": {"sequence_id": 43}, "inputs": [{"name": "input", "shape": [1, 6, 10], "datatype": "FP32", "data": \#(oneHotJSON(chunks[0]))}]}"#)
            #expect(unstarted.status == .badRequest)
            #expect(unstarted.protocolError?.contains("sequence_start") == true)
        }
    }

    @Test func compressedRequestsAndResponses() async throws {
        try await withServer { client in
            let input = oneHotFlat(batch: 1)
            let plain = #"{"inputs": [{"name": "input", "shape": [1, 6, 10], "datatype": "FP32", "data": \#(oneHotJSON(input))}]}"#
            let expected = try await client.v2("/v2/models/onehot/infer", plain).v2.outputs["dense"] ?? []
            for encoding in ["gzip", "deflate"] {
                let compressed = try compress(Array(plain.utf8), encoding: encoding)
                let response = try await client.execute(uri: "/v2/models/onehot/infer", method: .post,
                                                        headers: [.contentEncoding: encoding, .acceptEncoding: encoding], body: ByteBuffer(bytes: compressed))
                #expect(response.status == .ok)
                #expect(response.headers[.contentEncoding] == encoding)
                let body = try decompress(Array(response.body.readableBytesView), encoding: encoding)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
                #expect(close(flat((json["outputs"] as? [[String: Any]])?.first?["data"]), expected))
            }
            let corrupt = try await client.execute(uri: "/v2/models/onehot/infer", method: .post, headers: [.contentEncoding: "gzip"], body: ByteBuffer(string: "not gzip at all"))
            #expect(corrupt.status == .badRequest)
            #expect(corrupt.protocolError?.contains("not valid gzip") == true)
            let unknown = try await client.execute(uri: "/v2/models/onehot/infer", method: .post, headers: [.contentEncoding: "br"], body: ByteBuffer(string: plain))
            #expect(unknown.status == .unsupportedMediaType)
        }
    }

    @Test func aBodyOfManyReadsIsReadWhole() async throws {
        try await withServer(.live) { client in
            let input = oneHotFlat(batch: 1)
            let compact = #"{"inputs": [{"name": "input", "shape": [1, 6, 10], "datatype": "FP32", "data": \#(oneHotJSON(input))}]}"#
            let expected = try await client.v2("/v2/models/onehot/infer", compact).v2.outputs["dense"] ?? []
            // 300 KB of whitespace: the body arrives in several reads and is gathered by its Content-Length.
            let padded = compact.replacingOccurrences(of: "\"inputs\":", with: "\"inputs\":" + String(repeating: " ", count: 300_000))
            let response = try await client.v2("/v2/models/onehot/infer", padded)
            #expect(response.status == .ok)
            #expect(close(response.v2.outputs["dense"] ?? [], expected))
        }
    }

    @Test func compressedBodiesMustEndWhereTheirStreamEnds() async throws {
        try await withServer { client in
            let input = oneHotFlat(batch: 1)
            let plain = Array(#"{"inputs": [{"name": "input", "shape": [1, 6, 10], "datatype": "FP32", "data": \#(oneHotJSON(input))}]}"#.utf8)
            func infer(_ body: [UInt8], _ encoding: String) async throws -> (status: HTTPResponse.Status, error: String?) {
                let response = try await client.execute(uri: "/v2/models/onehot/infer", method: .post, headers: [.contentEncoding: encoding], body: ByteBuffer(bytes: body))
                return (response.status, response.protocolError)
            }
            for encoding in ["gzip", "deflate"] {
                let compressed = try compress(plain, encoding: encoding)
                #expect(try await infer(compressed, encoding).status == .ok)
                // Without its check value (gzip's CRC-32 and length, zlib's Adler-32) the JSON is whole,
                // and was answered 200; cut deeper, the JSON error hid why.
                for cut in [4, compressed.count / 2] {
                    let truncated = try await infer(Array(compressed.dropLast(cut)), encoding)
                    #expect(truncated.status == .badRequest)
                    #expect(truncated.error?.contains("the \(encoding) data is cut short") == true, "\(truncated.error ?? "")")
                }
                let trailing = try await infer(compressed + Array("garbage".utf8), encoding)
                #expect(trailing.status == .badRequest)
                #expect(trailing.error?.contains("7 bytes follow the end of the \(encoding) data") == true, "\(trailing.error ?? "")")
                var corrupted = compressed
                corrupted[corrupted.count - 2] ^= 0xFF  // in the check value
                let corrupt = try await infer(corrupted, encoding)
                #expect(corrupt.status == .badRequest)
                #expect(corrupt.error?.contains("not valid \(encoding) data (Content-Encoding: \(encoding)): incorrect") == true, "\(corrupt.error ?? "")")
            }
            // Two gzip members, as concatenated .gz files are, read one after the other.
            let split = plain.count / 2
            let members = try compress(Array(plain[..<split]), encoding: "gzip") + compress(Array(plain[split...]), encoding: "gzip")
            #expect(try await infer(members, "gzip").status == .ok)
        }
    }

    @Test func aBodyThatInflatesPastTheLimitIs413() async throws {
        var config = ServerConfig.test
        config.maxBodyBytes = 4096
        try await withServer(config: config) { client in
            let bomb = try compress([UInt8](repeating: UInt8(ascii: " "), count: 1 << 20), encoding: "gzip")
            #expect(bomb.count < 4096)
            let response = try await client.execute(uri: "/v2/models/onehot/infer", method: .post, headers: [.contentEncoding: "gzip"], body: ByteBuffer(bytes: bomb))
            #expect(response.status == .contentTooLarge)
            #expect(response.protocolError != nil)
            #expect(try await client.get("/v2/health/live").status == .ok)
        }
    }
}
