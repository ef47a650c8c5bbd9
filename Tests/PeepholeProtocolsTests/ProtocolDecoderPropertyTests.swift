import Foundation
import PeepholeCore
import Testing
@testable import PeepholeProtocols

/// Random and mutated bodies through the serving protocols, end to end (read, run, encode): a
/// KServe V2 body with Triton's binary framing (header length, `binary_data_size`, BYTES
/// lengths), and a TF Serving `:predict` body. Each ends in an answer or a request error
/// (`invalidInput`, `notApplicable`, `ProtocolError` for an unknown output) — never a trap.
/// Seeded, so a failure names a reproducible body.
@Suite struct ProtocolDecoderPropertyTests {
    /// V2 bodies per run, each against both models (about 1 s in a debug build).
    static let v2Bodies = 6_000
    /// TF Serving bodies per run, each against both models.
    static let tfsBodies = 4_000

    @Test func binaryFP32IsReadBitForBitAndItsFirstNonFiniteElementNamed() throws {
        var random = SplitMix64(seed: 15)
        for count in [1, 7, 8, 15, 16, 17, 64, 3_040] {
            let values = (0..<count).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: random.next()) & 0xBFFF_FFFF) }
            let read = try V2Binary.bytes(values).withUnsafeBufferPointer { try V2Binary.values($0, datatype: .fp32, count: count, shape: [count], field: "input 'x'") }
            guard case let .numbers(numbers) = read else { Issue.record("FP32 read as strings"); continue }
            #expect(numbers.map(\.bitPattern) == values.map(\.bitPattern))
            for position in Set([0, count / 2, count - 1]) {
                for special in [Float.nan, .infinity, -.infinity, Float(bitPattern: 0x7F80_0001)] {
                    var bad = values
                    bad[position] = special
                    if position + 1 < count { bad[count - 1] = .nan }
                    #expect(!V2Binary.allFinite(bad))
                    #expect(throws: PeepholeError.invalidInput(field: "input 'x'", message: "element \(position) is not a finite float32")) {
                        try V2Binary.bytes(bad).withUnsafeBufferPointer { try V2Binary.values($0, datatype: .fp32, count: count, shape: [count], field: "input 'x'") }
                    }
                }
            }
            #expect(V2Binary.allFinite(values + [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0]))
        }
    }

    @Test func mutatedV2BinaryBodiesEndInAnAnswerOrARequestError() async throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let models = try DecoderPropertyTests.models(in: directory)
        let api = KServeV2API(limits: RequestLimits(), runner: DirectRunner())
        var random = SplitMix64(seed: 0xB1A2)
        var outcomes = Outcomes()
        for _ in 0..<Self.v2Bodies {
            let (body, headerLength) = V2BodyFuzzer.next(&random)
            for model in models {
                await outcomes.expectRequestError("\(model.info.model) v2", body, headerLength: headerLength) {
                    let request = try V2InferRequest.read(body, headerLength: headerLength, limits: api.limits)
                    _ = try await api.infer(request, model: model).encoded()
                }
            }
        }
        #expect(outcomes.unexpected.isEmpty, "\(outcomes.unexpected)")
        #expect(outcomes.answered > Self.v2Bodies / 50, "some edited bodies stay valid, so the forward pass is reached too")
        #expect(outcomes.refusedPastFraming > Self.v2Bodies / 50, "some get past the framing to the model's checks")
    }

    @Test func mutatedTFServingBodiesEndInAnAnswerOrARequestError() async throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let models = try DecoderPropertyTests.models(in: directory)
        let api = TFServingAPI(limits: RequestLimits(), runner: DirectRunner())
        var random = SplitMix64(seed: 0x7F5)
        var outcomes = Outcomes()
        for _ in 0..<Self.tfsBodies {
            let body = BodyFuzzer.next(&random, seeds: Self.tfsSeeds)
            for model in models {
                await outcomes.expectRequestError("\(model.info.model) tfs", body, headerLength: nil) {
                    _ = try await api.predict(body, model: model)
                }
            }
        }
        #expect(outcomes.unexpected.isEmpty, "\(outcomes.unexpected)")
        #expect(outcomes.answered > Self.tfsBodies / 50, "some edited bodies stay valid, so the forward pass is reached too")
    }

    /// Valid TF Serving bodies for either model, in both formats.
    static let tfsSeeds: [String] = {
        let row = "[[0,0,0,1,0,0,0,0,0,0],[1,0,0,0,0,0,0,0,0,0],[0,1,0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0,0,1],[0,0,0,1,0,0,0,0,0,0],[0,0,0,0,0,1,0,0,0,0]]"
        return [
            #"{"instances": [\#(row), \#(row)]}"#,
            #"{"signature_name": "serving_default", "instances": [{"input": \#(row)}]}"#,
            #"{"inputs": {"input": [\#(row)]}}"#,
            #"{"inputs": [[1,2,3,4,5,6,7],[0,0,0,0,1,2,3]]}"#,
            #"{"instances": [[1,2,3,4,5,6,7]]}"#,
            #"{"instances": ["abcdef", "ghijab"]}"#,
            #"{"instances": ["abcdefg"]}"#,
        ]
    }()
}

/// What a run saw: answers, refusals, and anything that was neither a request error nor an answer.
struct Outcomes {
    var answered = 0
    /// Refusals raised after the body was framed (by the model's checks, outputs, shapes).
    var refusedPastFraming = 0
    var unexpected: [String: String] = [:]

    mutating func expectRequestError(_ target: String, _ body: [UInt8], headerLength: String?, _ run: () async throws -> Void) async {
        let sample = "header length \(headerLength ?? "none"): " + String(decoding: body.prefix(300), as: UTF8.self)
        do {
            try await run()
            answered += 1
        } catch let error as PeepholeError {
            switch error {
            case let .invalidInput(field, _), let .notApplicable(field, _):
                if field != "body" && field != "Inference-Header-Content-Length" && !field.contains("binary_data_size") { refusedPastFraming += 1 }
            default: unexpected["\(target): \(error.code)"] = sample
            }
        } catch is ProtocolError {
            refusedPastFraming += 1
        } catch {
            unexpected["\(target): \(type(of: error))"] = sample
        }
    }
}

/// V2 bodies with binary tensors: valid bodies for either model, then one to three framing
/// edits — header length off, not a number or stale; `binary_data_size` or shape at the edges;
/// a BYTES length overwritten; bytes flipped, cut, inserted or spliced from another body.
enum V2BodyFuzzer {
    /// One valid body: a JSON header and its binary part.
    struct Seed {
        var header: String
        var binary: [UInt8]
    }

    static let seeds: [Seed] = {
        func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }
        var oneHot = [Float](repeating: 0, count: 60)
        for step in 0..<6 { oneHot[step * 10 + (step * 3) % 10] = 1 }
        let fp32 = V2Binary.bytes(oneHot)
        let text = "abcdef", texts = ["abcdef", "ghijab"]
        let strings = texts.flatMap { le([UInt32($0.utf8.count)]) + Array($0.utf8) }
        func input(_ shape: String, _ datatype: String, _ size: Int, name: String = "input") -> String {
            #"{"name": "\#(name)", "shape": \#(shape), "datatype": "\#(datatype)", "parameters": {"binary_data_size": \#(size)}}"#
        }
        return [
            Seed(header: #"{"inputs": [\#(input("[1, 6, 10]", "FP32", 240))]}"#, binary: fp32),
            Seed(header: #"{"id": "r", "inputs": [\#(input("[1, 6, 10]", "FP64", 480))], "outputs": [{"name": "dense", "parameters": {"binary_data": true}}, {"name": "lstm/gates/i", "parameters": {"units": [0, 2], "steps_from": -3}}]}"#,
                 binary: le(oneHot.map { Double($0).bitPattern })),
            Seed(header: #"{"inputs": [\#(input("[2, 7]", "INT32", 56))], "parameters": {"binary_data_output": true}}"#, binary: le((0..<14).map { Int32($0 % 12) })),
            Seed(header: #"{"inputs": [\#(input("[1, 7]", "INT64", 56))], "outputs": [{"name": "lstm_1/h"}, {"name": "dense"}]}"#, binary: le((1...7).map { Int64($0) })),
            Seed(header: #"{"inputs": [\#(input("[2]", "BYTES", strings.count))]}"#, binary: strings),
            Seed(header: #"{"inputs": [\#(input("[1, 1]", "BYTES", 4 + text.utf8.count))], "outputs": [{"name": "lstm/sequence"}]}"#, binary: le([UInt32(6)]) + Array(text.utf8)),
            Seed(header: #"{"inputs": [\#(input("[1, 6, 10]", "FP32", 240)), \#(input("[1]", "FP32", 4, name: "extra"))]}"#, binary: fp32 + V2Binary.bytes([1])),
        ]
    }()

    /// Sizes worth writing over a `binary_data_size` or a dimension.
    static let edgeSizes = ["0", "1", "3", "4", "7", "239", "241", "480", "-1", "-240", "240.5", "1e15", "1e16", "4294967295",
                            "9223372036854775807", "18446744073709551616", "1e400", "\"240\"", "null", "[240]"]
    /// Header lengths that are not byte counts.
    static let badLengths = ["", "-1", "+1", "1.0", "0x10", "12ab", " ", "99999999999999999999999"]

    /// One body and the `Inference-Header-Content-Length` sent with it (nil: none).
    static func next(_ random: inout SplitMix64) -> (body: [UInt8], headerLength: String?) {
        func index(_ count: Int) -> Int { count == 0 ? 0 : Int(random.next() % UInt64(count)) }
        let seed = seeds[index(seeds.count)]
        var header = Array(seed.header.utf8), binary = seed.binary
        func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        var length: String?
        var lengthEdited = false  // else the header length is the final header's
        for _ in 0...index(3) {
            switch random.next() % 9 {
            case 0:  // a number in the header (a binary_data_size, a dimension, a unit) at the edges
                let numbers = header.indices.filter { isDigit(header[$0]) && ($0 == 0 || !isDigit(header[$0 - 1])) }
                guard !numbers.isEmpty else { continue }
                let start = numbers[index(numbers.count)]
                var end = start
                while end < header.count, isDigit(header[end]) { end += 1 }
                header.replaceSubrange(start..<end, with: Array(edgeSizes[index(edgeSizes.count)].utf8))
            case 1 where binary.count >= 4:  // a 4-byte little-endian length (BYTES) or element overwritten
                let at = index(binary.count - 3)
                let value: UInt32 = [0, 1, 5, 6, 7, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt32(truncatingIfNeeded: random.next())][index(8)]
                withUnsafeBytes(of: value.littleEndian) { binary.replaceSubrange(at..<(at + 4), with: $0) }
            case 2:  // a header length that is off by a little, or far
                length = String(header.count + [-2, -1, 1, 2, binary.count, binary.count + 1, -header.count, 1 << 20][index(8)])
                lengthEdited = true
            case 3:  // a header length that is not a byte count
                length = badLengths[index(badLengths.count)]
                lengthEdited = true
            case 4:  // no header length: the whole body read as JSON
                length = nil
                lengthEdited = true
                header += binary
                binary = []
            case 5:  // the JSON header edited as the JSON fuzzer edits bodies; its length left stale half the time
                if random.next() % 2 == 0 { length = String(header.count); lengthEdited = true }
                BodyFuzzer.mutate(&header, &random)
            case 6 where !binary.isEmpty:  // the binary part cut, grown or a bit flipped
                switch random.next() % 3 {
                case 0: binary.removeSubrange(index(binary.count)...)
                case 1: binary += (0..<(1 + index(8))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                default: binary[index(binary.count)] ^= 1 << (random.next() % 8)
                }
            case 7:  // another seed's binary part spliced in
                binary = seeds[index(seeds.count)].binary
            default:  // the whole body truncated
                let cut = index(header.count + binary.count + 1)
                if cut < header.count { header.removeSubrange(cut...); binary = [] } else { binary.removeSubrange((cut - header.count)...) }
            }
        }
        if !lengthEdited { length = String(header.count) }
        return (header + binary, length)
    }
}
