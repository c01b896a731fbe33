import Foundation

/// Headless Chromium driven through the DevTools protocol over `--remote-debugging-pipe`
/// (JSON messages separated by NUL bytes on file descriptors 3 and 4, here the child's stdin
/// and stdout): no port, no WebSocket. Enough for one page: open, evaluate, screenshot.
final class ChromiumDevTools {
    static let executable: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var pending: [UInt8] = []
    private var nextID = 0
    private var session: String?
    private let profile: URL

    /// Starts the browser with `arguments` added to the headless defaults.
    init(arguments: [String], log: String) throws {
        guard let executable = Self.executable else { throw DevToolsError("no chromium executable") }
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-chromium-\(UUID().uuidString)")
        let flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
                     "--user-data-dir=\(profile.path)", "--remote-debugging-pipe", "--window-size=900,820"] + arguments
        let quoted = ([executable] + flags + ["about:blank"]).map { "'\($0.replacingOccurrences(of: "'", with: "'\\''"))'" }
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // fd 3: commands in (our stdin pipe); fd 4: replies out (our stdout pipe).
        process.arguments = ["-c", "exec \(quoted.joined(separator: " ")) 3<&0 4>&1 1>/dev/null 2>>'\(log)'"]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: profile)
    }

    /// Sends one command (to the attached page once `open` has run) and returns its `result`.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], toPage: Bool = true) throws -> [String: Any] {
        nextID += 1
        var message: [String: Any] = ["id": nextID, "method": method, "params": params]
        if toPage, let session { message["sessionId"] = session }
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: message) + Data([0]))
        while true {
            let reply = try readMessage()
            guard reply["id"] as? Int == nextID else { continue }   // events and other replies
            if let error = reply["error"] as? [String: Any] { throw DevToolsError("\(method): \(error)") }
            return reply["result"] as? [String: Any] ?? [:]
        }
    }

    /// Opens `url` in a new page and attaches to it.
    func open(_ url: String) throws {
        let target = try call("Target.createTarget", ["url": url], toPage: false)
        guard let id = target["targetId"] as? String else { throw DevToolsError("no target id") }
        let attached = try call("Target.attachToTarget", ["targetId": id, "flatten": true], toPage: false)
        session = attached["sessionId"] as? String
    }

    /// The value of a JavaScript expression in the page (JSON-compatible values).
    func evaluate(_ expression: String) throws -> Any? {
        let result = try call("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        return (result["result"] as? [String: Any])?["value"]
    }

    /// A PNG of the page.
    func screenshot() throws -> Data {
        let result = try call("Page.captureScreenshot", ["format": "png"])
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else { throw DevToolsError("no screenshot") }
        return data
    }

    private func readMessage() throws -> [String: Any] {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let bytes = Array(pending[..<end])
                pending.removeSubrange(...end)
                guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { continue }
                return object
            }
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw DevToolsError("chromium closed its DevTools pipe") }
            pending += data
        }
    }
}

struct DevToolsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
