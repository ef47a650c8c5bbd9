import Foundation
import HTTPTypes
import Logging
import Testing
@testable import PeepholeServer

/// The small pieces every request goes through: header lookups and the log handler.
@Suite struct ServerPlumbingTests {
    @Test func headerValuesAreWhatTheFieldsSubscriptGives() {
        let custom = HTTPField.Name("Inference-Header-Content-Length")!
        let cases: [HTTPFields] = [
            [:],
            [.contentLength: "12306"],
            [.contentType: "application/json", custom: "146", .contentLength: "12"],
            HTTPFields([HTTPField(name: .acceptEncoding, value: "gzip"), HTTPField(name: .contentLength, value: "3"),
                        HTTPField(name: .acceptEncoding, value: "deflate"), HTTPField(name: .acceptEncoding, value: "br")]),
            HTTPFields([HTTPField(name: .cookie, value: "a=1"), HTTPField(name: .cookie, value: "b=2")]),
            HTTPFields([HTTPField(name: HTTPField.Name("content-LENGTH")!, value: "7")]),
        ]
        for fields in cases {
            for name in [HTTPField.Name.contentLength, .contentType, .acceptEncoding, .cookie, custom] {
                #expect(fields.value(of: name) == fields[name], "\(name) in \(fields)")
            }
        }
        #expect(cases[3].value(of: .acceptEncoding) == "gzip, deflate, br")
        #expect(cases[4].value(of: .cookie) == "a=1; b=2")
        #expect(cases[5].value(of: .contentLength) == "7")
    }

    @Test func logLinesAreStreamLogHandlersLines() {
        struct Lines: TextOutputStream, @unchecked Sendable {
            let box = Box()
            final class Box { var text = "" }
            mutating func write(_ string: String) { box.text += string }
        }
        struct Failure: Error, CustomStringConvertible { var description: String { "disk on fire" } }
        let events = [
            LogEvent(level: .info, message: "Starting", metadata: ["http.address": "127.0.0.1:8080", "batch.workers": "2"],
                     source: "peephole", file: #fileID, function: #function, line: #line),
            LogEvent(level: .debug, message: "Request refused", error: Failure(), metadata: ["http.status": "404"],
                     source: "PeepholeServer", file: #fileID, function: #function, line: #line),
            LogEvent(level: .warning, message: "plain", metadata: nil, source: nil, file: "PeepholeServer/Serving/X.swift", function: #function, line: 1),
        ]
        for label in ["peephole", ""] {
            for base in [Logger.Metadata(), ["hb.request.id": "5f0c", "a.first": .array(["x", "1"])]] {
                for event in events {
                    let lines = Lines()
                    var stream = StreamLogHandler(label: label, stream: lines, metadataProvider: nil)
                    var ours = ServerLogHandler(label: label, metadataProvider: nil)
                    for (key, value) in base {
                        stream[metadataKey: key] = value
                        ours[metadataKey: key] = value
                    }
                    stream.log(event: event)
                    let line = ours.line(for: event)
                    // Both lines start with the time to the second, which may tick between them.
                    #expect(line.drop { $0 != " " } == lines.box.text.drop { $0 != " " })
                    #expect(line.hasSuffix("\n") && line.count > 30)
                }
            }
        }
    }
}
