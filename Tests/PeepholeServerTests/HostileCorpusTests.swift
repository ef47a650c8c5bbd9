import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The committed corpus of hostile requests (`Tests/Fixtures/hostile/cases.json`): each gets
/// its status and JSON error (the Peephole API's code, or the start of a KServe V2 or TF
/// Serving `{"error": "<message>"}`), and the server goes on serving valid requests.
@Suite struct HostileCorpusTests {
    @Test(arguments: HostileCase.all)
    func hostileRequestGetsItsStatusThenServingGoesOn(_ hostile: HostileCase) async throws {
        try await withServer(hostile.transport == .tcp ? .live : .router, models: [.onehot, .embed]) { client in
            var session = ""
            if hostile.path.contains("{session}") {
                session = try #require(try await client.post("/sessions", "").json["session"] as? String)
            }
            let path = hostile.path.replacingOccurrences(of: "{session}", with: session)
            let status: Int, body: String
            if hostile.transport == .router {
                (status, body) = try await hostile.send(to: client, path: path)
            } else {
                let port = try #require(client.port)
                (status, body) = try await offThePool { try hostile.send(port: port, path: path) }
            }
            #expect(status == hostile.status, "\(body.prefix(300))")
            let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
            if let code = hostile.code {
                #expect((json?["error"] as? [String: Any])?["code"] as? String == code, "\(body.prefix(300))")
            }
            if let message = hostile.message {
                #expect((json?["error"] as? String)?.hasPrefix(message) == true, "\(body.prefix(300))")
            }
            if let mentions = hostile.mentions { #expect(body.contains(mentions), "\(body.prefix(300))") }
            #expect(try await client.post("/predict", #"{"text": ["abcdef"]}"#).status == .ok, "a valid request after it")
        }
    }

    @Test func corpusCoversEveryTransportAndBothOutcomes() {
        let cases = HostileCase.all
        #expect(cases.count >= 180)
        #expect(Set(cases.map(\.name)).count == cases.count, "names are unique")
        #expect(cases.contains { $0.transport == .tcp } && cases.contains { $0.transport == .router })
        #expect(cases.allSatisfy { (400..<500).contains($0.status) || ($0.status == 200 && $0.code == nil && $0.message == nil) })
        #expect(cases.allSatisfy { $0.code == nil || $0.message == nil }, "a Peephole error code or a protocol message, not both")
        for prefix in ["/v2/", "/v1/"] {
            #expect(cases.contains { $0.path.hasPrefix(prefix) && $0.message != nil }, "protocol errors on \(prefix)")
            #expect(cases.contains { $0.path.hasPrefix(prefix) && $0.status == 200 }, "a valid request on \(prefix)")
        }
        #expect(cases.contains { $0.status == 413 && $0.headers?["Content-Encoding"] != nil }, "a decompression bomb")
    }
}

/// One hostile request and the answer it must get; see `about` in the corpus file.
struct HostileCase: Decodable, Sendable, CustomTestStringConvertible {
    /// In-process through the router, or raw HTTP/1.1 over TCP for what the transport decides.
    enum Transport: String, Decodable, Sendable { case router, tcp }

    /// A piece of a body: UTF-8 text, raw bytes, or text repeated `count` times. Little-endian
    /// float32 values and compressed parts are made into bytes as they are read.
    enum Part: Decodable, Sendable {
        case text(String)
        case bytes([UInt8])
        case repeated(String, count: Int, separator: String)

        private enum Keys: String, CodingKey { case base64, float32, gzip, deflate, `repeat`, count, separator }

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                self = .text(text)
                return
            }
            let container = try decoder.container(keyedBy: Keys.self)
            if let base64 = try container.decodeIfPresent(String.self, forKey: .base64) {
                guard let data = Data(base64Encoded: base64) else {
                    throw DecodingError.dataCorruptedError(forKey: .base64, in: container, debugDescription: "not base64")
                }
                self = .bytes(Array(data))
                return
            }
            if let values = try container.decodeIfPresent([Float].self, forKey: .float32) {
                self = .bytes(PeepholeServerTests.bytes(values))
                return
            }
            for key in [Keys.gzip, .deflate] {
                if let parts = try container.decodeIfPresent([Part].self, forKey: key) {
                    self = .bytes(try compress(parts.reduce(into: []) { $1.append(to: &$0) }, encoding: key.rawValue))
                    return
                }
            }
            self = .repeated(try container.decode(String.self, forKey: .repeat), count: try container.decode(Int.self, forKey: .count),
                             separator: try container.decodeIfPresent(String.self, forKey: .separator) ?? "")
        }

        func append(to bytes: inout [UInt8]) {
            switch self {
            case let .text(text): bytes.append(contentsOf: text.utf8)
            case let .bytes(raw): bytes.append(contentsOf: raw)
            case let .repeated(text, count, separator):
                for index in 0..<count {
                    if index > 0 { bytes.append(contentsOf: separator.utf8) }
                    bytes.append(contentsOf: text.utf8)
                }
            }
        }
    }

    var name: String
    var transport: Transport
    var method: String
    var path: String
    var headers: [String: String]?
    var body: [Part]?
    var status: Int
    var code: String?
    /// How the `{"error": "<message>"}` of a KServe V2 or TF Serving route must begin.
    var message: String?
    /// A fragment the response body must contain.
    var mentions: String?

    var testDescription: String { name }

    /// Every case in the corpus file.
    static let all: [HostileCase] = {
        struct Corpus: Decodable { var cases: [HostileCase] }
        let url = Fixtures.tests.appendingPathComponent("Fixtures/hostile/cases.json")
        return try! JSONDecoder().decode(Corpus.self, from: Data(contentsOf: url)).cases
    }()

    /// The body's bytes, nil without one.
    var bodyBytes: [UInt8]? {
        body.map { parts in parts.reduce(into: []) { $1.append(to: &$0) } }
    }

    /// The headers sent: as listed, else a JSON `Content-Type` when there is a body.
    var headerFields: [(name: String, value: String)] {
        (headers ?? (body == nil ? [:] : ["Content-Type": "application/json"])).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Sends the request through the test client; returns the status and body.
    func send(to client: any TestClientProtocol, path: String) async throws -> (Int, String) {
        var fields = HTTPFields()
        for (name, value) in headerFields { fields[try #require(HTTPFields.Element.Name(name))] = value }
        let response = try await client.execute(uri: path, method: try #require(HTTPRequest.Method(method)), headers: fields,
                                                 body: bodyBytes.map { ByteBuffer(bytes: $0) })
        if code != nil || message != nil { #expect(response.headers[.contentType]?.hasPrefix("application/json") == true) }
        return (response.status.code, response.text)
    }

    /// Sends the request as raw HTTP/1.1 on a fresh connection, with `Content-Length` unless
    /// a header sets it or the body is chunked (then framed in 64 KiB chunks); returns the
    /// status and body. A server that answers before reading the whole body may close the
    /// connection under the rest of it; the answer is read regardless (SIGPIPE is ignored, so
    /// writing to the closed socket fails instead of ending the test process).
    func send(port: Int, path: String) throws -> (Int, String) {
        signal(SIGPIPE, SIG_IGN)
        let connection = try RawHTTPConnection(port: port)
        let body = bodyBytes ?? []
        let names = Set(headerFields.map { $0.name.lowercased() })
        let chunked = headerFields.contains { $0.name.lowercased() == "transfer-encoding" && $0.value == "chunked" }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for (name, value) in headerFields { head += "\(name): \(value)\r\n" }
        if !names.contains("content-length") && !chunked { head += "Content-Length: \(body.count)\r\n" }
        try connection.send(Array((head + "\r\n").utf8))
        do {
            if chunked {
                for start in stride(from: 0, to: body.count, by: 65536) {
                    let chunk = body[start..<min(start + 65536, body.count)]
                    try connection.send(Array("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + Array("\r\n".utf8))
                }
                try connection.send(Array("0\r\n\r\n".utf8))
            } else {
                try connection.send(body)
            }
        } catch {}
        let (status, text) = try connection.readResponse()
        return (status, text)
    }
}
