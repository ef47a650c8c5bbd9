import Foundation

/// A headless Chromium driven through chromedriver's WebDriver protocol (W3C, JSON over HTTP):
/// just what the inspector's tests need — open a page, run a script in it, take a screenshot.
final class WebDriver: @unchecked Sendable {
    /// Where Debian's chromium-driver puts chromedriver.
    static let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }

    private let driver: Process
    private let port: Int
    private let session: String

    /// Starts chromedriver on a free loopback port and opens a headless browser window.
    init() async throws {
        guard let path = Self.chromedriver else { throw WebDriverError("chromedriver is missing: `make test` installs chromium and chromium-driver") }
        let port = try freePort()
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: path)
        driver.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        self.port = port
        var opened: String?
        var failure = "no answer"
        for _ in 0..<20 where opened == nil {
            try await Task.sleep(for: .milliseconds(100))
            let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
                "browserName": "chrome",
                "goog:chromeOptions": ["args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]],
            ]]]
            do {
                opened = (try await Self.call(port, "POST", "/session", capabilities)?["value"] as? [String: Any])?["sessionId"] as? String
            } catch {
                failure = "\(error)"
            }
        }
        guard let opened else {
            Self.stop(driver)
            throw WebDriverError("chromedriver did not open a browser session: \(failure)")
        }
        session = opened
    }

    /// Opens `url` and waits for the page to load.
    func open(_ url: String) async throws {
        _ = try await command("POST", "/url", ["url": url])
    }

    /// Runs `script` (a function body; `arguments` as in WebDriver) and returns its result.
    @discardableResult
    func run(_ script: String, _ arguments: [Any] = []) async throws -> Any? {
        try await command("POST", "/execute/sync", ["script": script, "args": arguments])
    }

    /// Waits until `condition` (a JavaScript expression) is true, for at most `seconds`.
    func wait(for condition: String, seconds: Double = 20) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await run("return Boolean(\(condition));") as? Bool == true { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw WebDriverError("timed out waiting for \(condition)")
    }

    /// A PNG of the window.
    func screenshot() async throws -> Data {
        guard let encoded = try await command("GET", "/screenshot") as? String, let data = Data(base64Encoded: encoded) else {
            throw WebDriverError("no screenshot")
        }
        return data
    }

    /// Closes the browser and chromedriver.
    /// Runs `body` with a new browser, and quits it however `body` ends (a browser left running
    /// would outlive the test, with its connections to the server).
    static func withBrowser(_ body: (WebDriver) async throws -> Void) async throws {
        let browser = try await WebDriver()
        do {
            try await body(browser)
        } catch {
            await browser.quit()
            throw error
        }
        await browser.quit()
    }

    /// Closes the browser (the session), then stops chromedriver, which outlives a SIGTERM.
    private func quit() async {
        _ = try? await command("DELETE", "")
        Self.stop(driver)
    }

    private static func stop(_ driver: Process) {
        if driver.isRunning { kill(driver.processIdentifier, SIGKILL) }
        driver.waitUntilExit()
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        try await Self.call(port, method, "/session/\(session)\(path)", body)?["value"] ?? nil
    }

    private static func call(_ port: Int, _ method: String, _ path: String, _ body: [String: Any]?) async throws -> [String: Any]? {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let text = try await offThePool {
            let connection = try RawHTTPConnection(port: port, timeoutSeconds: 120)
            try connection.send(Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n".utf8) + payload)
            return try connection.readResponse().body
        }
        let answer = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        if let value = answer?["value"] as? [String: Any], let error = value["error"] as? String {
            throw WebDriverError("\(error): \(value["message"] ?? "")")
        }
        return answer
    }
}

/// What went wrong driving the browser.
struct WebDriverError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A TCP port nothing listens on now.
func freePort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}
