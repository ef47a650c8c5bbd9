import Foundation
import Testing
@testable import PeepholeServer

/// The inspector page in a real headless Chromium against `peephole serve` of the demo store:
/// what it draws agrees with what the API returns. Each view's screenshot goes into a folder the
/// test prints (`PEEPHOLE_SCREENSHOTS`, or a temporary one; `make screenshots` writes the
/// README's).
@Suite struct InspectorPageTests {
    static let text = "This program is free software; you can redistribute it"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: LiveServeTests.binary), "needs `swift build` to have built .build/debug/peephole"))
    func thePageReadsSelectsMatchesShowsAUnitAndGenerates() async throws {
        let (server, port) = try await startDemoServer()
        defer { stop(server) }
        try await WebDriver.withBrowser { browser in
            let shots = URL(fileURLWithPath: ProcessInfo.processInfo.environment["PEEPHOLE_SCREENSHOTS"]
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("peephole-screenshots-\(UUID().uuidString)").path)
            try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
            print("inspector screenshots: \(shots.path)")
            func shoot(_ name: String) async throws { try await browser.screenshot().write(to: shots.appendingPathComponent("\(name).png")) }
            let page = "http://127.0.0.1:\(port)/inspect"

            // 1. Read: type a text, every character coloured, colours equal the API's values.
            try await browser.open("\(page)/read?layer=lstm&field=h&unit=5")
            try await browser.wait(for: "document.body.dataset.ready === 'read'")
            try await browser.run("document.getElementById('text').value = arguments[0]; document.getElementById('run').click();", [Self.text])
            try await browser.wait(for: "document.querySelectorAll('#chars span.ch').length === \(Self.text.count) && document.body.dataset.ready === 'read'")
            let api = try await layerOutput(port: port, text: Self.text)
            for step in [0, 16, Self.text.count - 1] {
                let drawn = try #require(try await browser.run("""
                    const span = document.querySelectorAll('#chars span.ch')[arguments[0]];
                    return [Number(span.dataset.value), getComputedStyle(span).backgroundColor];
                    """, [step]) as? [Any])
                let value = try #require((drawn[0] as? NSNumber)?.floatValue)
                #expect(abs(value - api[step][5]) < 1e-6, "step \(step)")
                #expect(drawn[1] as? String == Self.diverging(api[step][5]), "step \(step)")
            }
            try await shoot("read")

            // 2. Select: brush characters 16…19 ("free"), match.
            try await browser.run("""
                const spans = document.querySelectorAll('#chars span.ch');
                const fire = (type, span) => span.dispatchEvent(new MouseEvent(type, {bubbles: true}));
                fire('mousedown', spans[16]); fire('mousemove', spans[19]); document.dispatchEvent(new MouseEvent('mouseup'));
                document.getElementById('match').click();
                """)
            try await browser.wait(for: "document.querySelector('#selection h2') !== null")
            let listed = try await browser.run("return document.querySelectorAll('#selection .units span').length;") as? Int ?? -1
            let expected = try await matchUnits(port: port)
            #expect(listed == expected, "units listed on the page \(listed), by the API \(expected)")
            #expect(try await browser.run("return location.search.includes('from=16') && location.search.includes('to=20');") as? Bool == true)
            try await shoot("select")

            // 3. A unit's card.
            try await browser.open("\(page)/unit?layer=lstm&field=f&unit=5&text=\(Self.text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            try await browser.wait(for: "document.body.dataset.ready === 'unit' && document.querySelectorAll('#card .snippet').length > 0")
            #expect(try await browser.run("return document.querySelectorAll('#card .bars div').length;") as? Int == 20)
            #expect(try await browser.run("return document.getElementById('card').textContent.includes('left-saturated');") as? Bool == true)
            // Its effect on the next character: as is, h clamped to 0, clamped to its largest value;
            // the clamped column is what the API answers with that intervention.
            try await browser.wait(for: "document.querySelectorAll('#card .effect li').length === 15")
            let shown = try #require(try await browser.run("return [...document.querySelectorAll('#card .effect ol')[1].querySelectorAll('li')].map((li) => li.textContent);") as? [String])
            let context = String(Self.text.suffix(120))
            let clamped = try await post(port: port, path: "/predict", body: #"{"text": ["\#(context)"], "top_k": 5, "interventions": [{"layer": "lstm", "field": "h", "units": [5], "value": 0}]}"#)
            let best = try #require((clamped["top_k"] as? [[[String: Any]]])?[0].first)
            #expect(shown.first?.hasSuffix(String(format: "%.3f", (best["p"] as! NSNumber).doubleValue)) == true, "\(shown)")
            try await shoot("unit")

            // A float-input model's sequence is pasted as JSON or CSV.
            #expect(try await browser.run("return Peephole.parseRows('[[0.5, 1], [2, -3]]');") as? [[Double]] == [[0.5, 1], [2, -3]])
            #expect(try await browser.run("return Peephole.parseRows('0.5,1\\n2,-3\\n');") as? [[Double]] == [[0.5, 1], [2, -3]])
            #expect(try await browser.run("return Peephole.parseRows('free software');") is NSNull)

            // 4. Generate, coloured by the unit.
            try await browser.open("\(page)/generate?layer=lstm&field=h&unit=5&prompt=This%20program%20is%20&length=60&temperature=0.5&seed=42")
            try await browser.wait(for: "document.body.dataset.ready === 'generate' && document.querySelectorAll('#generated span.ch').length === \(16 + 60)")
            try await shoot("generate")

            // 5. The model's layers and corpus.
            try await browser.open("\(page)/model")
            try await browser.wait(for: "document.body.dataset.ready === 'model' && document.querySelectorAll('#layers tbody tr').length === 2")
            #expect(try await browser.run("return document.getElementById('corpus').textContent;") as? String == "chars.corpus.txt: 35,149 characters")
            try await shoot("model")
        }
    }

    /// The page's diverging scale: white to red above zero, white to blue below.
    static func diverging(_ value: Float) -> String {
        let t = max(-1, min(1, value))
        let target: [Float] = t >= 0 ? [214, 39, 40] : [31, 119, 180]
        let channels = target.map { Int((255 + ($0 - 255) * abs(t)).rounded(.toNearestOrAwayFromZero)) }
        return "rgb(\(channels[0]), \(channels[1]), \(channels[2]))"
    }

    /// `lstm`'s hidden state at every step of `text`, from the API.
    private func layerOutput(port: Int, text: String) async throws -> [[Float]] {
        let body = #"{"text": ["\#(text)"], "sequences": true}"#
        let json = try await post(port: port, path: "/layers/lstm/output", body: body)
        return try #require((json["sequence"] as? [[[NSNumber]]])?[0].map { $0.map(\.floatValue) })
    }

    /// How many units the API selects over characters 16…19 at threshold 0.3.
    private func matchUnits(port: Int) async throws -> Int {
        let json = try await post(port: port, path: "/layers/lstm/match", body: #"{"text": "\#(Self.text)", "span": {"from": 16, "to": 20}, "threshold": 0.3, "field": "h", "constraints": {"before": false, "after": false}}"#)
        return (json["units"] as? [Any])?.count ?? -1
    }

    private func post(port: Int, path: String, body: String) async throws -> [String: Any] {
        let text = try await offThePool {
            let connection = try RawHTTPConnection(port: port)
            try connection.send(Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8))
            return try connection.readResponse().body
        }
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    /// Stops a server this test started and waits for it to be gone: a SIGTERM'd server drains
    /// while the browser still holds its connections, and could outlive the test.
    private func stop(_ server: Process) {
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        server.waitUntilExit()
    }

    /// `peephole serve` of the committed demo store on a free port, once ready.
    private func startDemoServer() async throws -> (Process, Int) {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: LiveServeTests.binary)
        server.arguments = ["serve", "--store", Fixtures.package.appendingPathComponent("models/peephole.sqlite").path, "--port", "0", "--log-level", "info"]
        let output = Pipe()
        server.standardOutput = output
        server.standardError = output
        let log = LogCollector(output.fileHandleForReading)
        try server.run()
        let logged = try? await log.waitForPort()
        if logged == nil { stop(server) }
        let port = try #require(logged, "the server never logged its port:\n\(log.text)")
        _ = try await eventually {
            let status = try? await offThePool { () -> Int in
                let connection = try RawHTTPConnection(port: port)
                try connection.send(Array("GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
                return try connection.readResponse().status
            }
            return status == 200
        }
        return (server, port)
    }
}
