import Foundation
import Testing
import PeepholeCore
@testable import PeepholeProtocols

@Suite struct JSONValueTests {
    @Test func numericArraysReadExactlyLikeDoubleParsing() throws {
        var random = SplitMix64(seed: 3)
        var texts = ["0", "-0", "1", "-1", "0.5", "1e-5", "1E+3", "123456789012345678901234", "0.000001234", "3.4028235e38",
                     "1.17549435e-38", "-2.5e-3", "9007199254740993", "0.1", "1.0000001", "12.5e-2", "7e22", "7e23"]
        for _ in 0..<2000 {
            let mantissa = random.next() % 10_000_000_000
            let exponent = Int(random.next() % 60) - 30
            let sign = random.next() % 2 == 0 ? "" : "-"
            texts.append("\(sign)\(mantissa / 1000).\(mantissa % 1000)e\(exponent)")
            // Plain decimals of every length, the common case read in one pass.
            let digits = String(random.next()) + String(random.next())
            let length = Int(random.next() % 24) + 1, point = Int(random.next() % UInt64(length + 1))
            let plain = String(digits.prefix(length)), integer = String(plain.prefix(point)), fraction = String(plain.dropFirst(point))
            let integerPart = integer.isEmpty ? "0" : (integer.drop { $0 == "0" }.isEmpty ? "0" : String(integer.drop { $0 == "0" }))
            texts.append(sign + integerPart + (fraction.isEmpty ? "" : "." + fraction))
        }
        texts += ["1.00", "0.05", "1.0e1", "0.0E0", "1.01", "0.00", "1", "0", "-1.0", "-0.0", "1.0", "0.0", "12345678901234567890", "0.12345678901234567890123", "9007199254740993.5", "0.0000000000000000000000001"]
        let json = "[" + texts.joined(separator: ",") + "]"
        guard case let .numbers(shape, values) = try JSONValue.parse(Array(json.utf8)) else {
            Issue.record("not read as a numeric array")
            return
        }
        #expect(shape == [texts.count])
        for (text, value) in zip(texts, values) {
            let expected = Float(Double(text)!)
            #expect(value.bitPattern == expected.bitPattern, "\(text): \(value) vs \(expected)")
        }
    }

    @Test func oneHotNumbersReadLikeAnyOtherWhateverTheSeparator() throws {
        #expect(try JSONValue.parse(Array("[1.0,0.0 , 1 ,0\n,1.0\t]".utf8)) == .numbers(shape: [5], values: [1, 0, 1, 0, 1]))
        #expect(try JSONValue.parse(Array("[[0.0],[1.0]]".utf8)) == .numbers(shape: [2, 1], values: [0, 1]))
        #expect(throws: PeepholeError.self) { try JSONValue.parse(Array("[01]".utf8)) }
        #expect(throws: PeepholeError.self) { try JSONValue.parse(Array("[1.]".utf8)) }
        #expect(throws: PeepholeError.self) { try JSONValue.parse(Array("[1.0".utf8)) }
    }

    @Test func pythonSpacedOneHotRowsReadLikeTheGeneralReader() throws {
        // Runs of `0.0, ` and `1.0, ` are read eight bytes at a time; whatever breaks a run (another
        // number, other spacing, the last element, a fault) is read element by element.
        var random = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let width = Int(random.next() % 12) + 1, rows = Int(random.next() % 4) + 1
            var texts: [[String]] = []
            for _ in 0..<rows {
                texts.append((0..<width).map { _ in ["0.0", "1.0", "0.0", "0.0", "1", "0", "0.5", "-0.0", "1.0e0", "10.0"][Int(random.next() % 10)] })
            }
            let separators = [", ", ",", " , ", ",  ", ",\n"]
            let json = "[" + texts.map { "[" + $0.joined(separator: separators[Int(random.next() % 5)]) + "]" }.joined(separator: ", ") + "]"
            guard case let .numbers(shape, values) = try JSONValue.parse(Array(json.utf8)) else {
                Issue.record("not read as a numeric array: \(json)")
                continue
            }
            #expect(shape == [rows, width], "\(json)")
            #expect(values.map(\.bitPattern) == texts.joined().map { Float(Double($0)!).bitPattern }, "\(json)")
        }
        for bad in ["[0.0, 1.0, ]", "[0.0, 0.0, 0.0, 0.0, 1.0, 2.", "[0.0, 0.0, 0.0, 0.0, 0.0, 00]", "[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]"] {
            #expect(throws: PeepholeError.self, "\(bad)") {
                guard case .numbers = try JSONValue.parse(Array(bad.utf8)) else { throw PeepholeError.invalidInput(field: "body", message: "not rectangular") }
            }
        }
    }

    @Test func stringsReadLikeFoundationWithAndWithoutEscapes() throws {
        let strings = ["", "text", "the quick brown fox jumps over the lazy dog and runs away", "é日本🙂", "a\"b", "back\\slash",
                       "line\nfeed\ttab\r", "\u{1}\u{1F}", "slash/", "tail\\", "\"", "mixed é \n 🙂 \\ end"]
        for string in strings {
            let json = try JSONEncoder().encode([string])
            #expect(try JSONValue.parse(Array(json)) == .array([.string(string)]), "\(string)")
        }
        // Escapes Foundation does not write, and invalid text, reported where the string's reading stopped.
        #expect(try JSONValue.parse(Array(#"["\u00e9\ud83d\ude42\/"]"#.utf8)) == .array([.string("é🙂/")]))
        for (bytes, message) in [(Array(#"["ab"#.utf8) + [0xFF] + Array(#"c"]"#.utf8), "malformed JSON at byte 6: invalid UTF-8 in a string"),
                                 (Array("[\"a\u{1}\"]".utf8), "malformed JSON at byte 3: control character in a string"),
                                 (Array(#"["abc"#.utf8), "malformed JSON at byte 5: unterminated string")] {
            #expect(throws: PeepholeError.invalidInput(field: "body", message: message)) { try JSONValue.parse(bytes) }
        }
    }

    @Test func rectangularArraysBecomeNumbersAndTheRestStaysATree() throws {
        #expect(try JSONValue.parse(Array("[[1, 2], [3, 4]]".utf8)) == .numbers(shape: [2, 2], values: [1, 2, 3, 4]))
        #expect(try JSONValue.parse(Array("[[], []]".utf8)) == .numbers(shape: [2, 0], values: []))
        #expect(try JSONValue.parse(Array("[[1], [2, 3]]".utf8)) == .array([.numbers(shape: [1], values: [1]), .numbers(shape: [2], values: [2, 3])]))
        #expect(try JSONValue.parse(Array("[1, [2]]".utf8)) == .array([.number(1), .numbers(shape: [1], values: [2])]))
        #expect(try JSONValue.parse(Array("[1, \"a\"]".utf8)) == .array([.number(1), .string("a")]))
        #expect(throws: PeepholeError.self) { try JSONValue.parse(Array("[01]".utf8)) }
        #expect(throws: PeepholeError.self) { try JSONValue.parse(Array("[1.]".utf8)) }
        #expect(throws: PeepholeError.self) { try JSONValue.parse(Array("[1,]".utf8)) }
        #expect(throws: PeepholeError.self) { try JSONValue.parse(Array("[-]".utf8)) }
        #expect(throws: PeepholeError.self) { try JSONValue.parse(Array(String(repeating: "[", count: 100_000).utf8)) }
    }
}

@Suite struct JSONWritableTests {
    /// Floats are written as `description` writes them: random bit patterns of every magnitude,
    /// the edges, and non-finite values as null.
    @Test func floatsAreWrittenAsTheirDescription() {
        var random = SplitMix64(seed: 32)
        var values: [Float] = [0, -0.0, 1, -1, 0.1, 1e-7, 0.7499999, 1e7, 1.0e16, 123456.79, .leastNonzeroMagnitude, .leastNormalMagnitude,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .ulpOfOne, .pi, .nan, .infinity, -.infinity]
        values += (0..<200_000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: random.next())) }
        var writer = JSONWriter()
        writer.tensor(Tensor(shape: [values.count], data: values))
        let expected = "[" + values.map { $0.isFinite ? $0.description : "null" }.joined(separator: ",") + "]"
        #expect(String(decoding: writer.bytes, as: UTF8.self) == expected)
        for value in values.prefix(40) {
            var single = JSONWriter()
            single.float(value)
            #expect(String(decoding: single.bytes, as: UTF8.self) == (value.isFinite ? value.description : "null"))
        }
    }

    /// The responses written directly must be the bytes their `Encodable` conformance gives.
    @Test func predictResponsesWriteTheBytesTheirEncodableConformanceGives() throws {
        let probabilities = Tensor(shape: [2, 3], data: [0.25, 1e-7, 0.7499999, 3.4028235e38, -0.0, .nan])
        let responses = [
            PredictResponse(model: "chars", version: 1, outputs: .single(probabilities), topK: nil),
            PredictResponse(model: "a \"quoted\"\nname", version: 12, outputs: .single(Tensor(shape: [1, 2, 2], data: [1, 2, 3, .infinity])), topK: nil),
            PredictResponse(model: "two_heads", version: 3, outputs: .named([("next", probabilities), ("score", Tensor(shape: [2, 1], data: [0.5, -1.5]))]), topK: nil),
            PredictResponse(model: "chars", version: 1, outputs: .single(probabilities),
                            topK: [[TokenProbability(token: "e", p: 0.679), TokenProbability(token: "\\", p: .nan)], [TokenProbability(token: "\u{1}", p: 1e-30), TokenProbability(token: "é日🙂", p: 0.5)]]),
            PredictResponse(model: "chars", version: 1, outputs: .named([]), topK: [[]]),
        ]
        for response in responses {
            let written = try PeepholeJSON.encode(response)
            let encoded = try JSONStreamEncoder.encode(response)
            #expect(written == encoded, "\(String(decoding: written, as: UTF8.self)) vs \(String(decoding: encoded, as: UTF8.self))")
        }
    }
}
