import Foundation
import Testing

/// The shipped nginx TLS termination (`systemd/nginx-moshi-https.conf`) in front of a real
/// `moshi serve --synthetic`, run by its script on loopback; it skips (exit 0, SKIP) when nginx
/// is not installed.
@Suite(.serialized, .timeLimit(.minutes(3))) struct NginxConfigTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func run(_ script: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.root.appendingPathComponent(script).path]
        var environment = ProcessInfo.processInfo.environment
        if let moshi = ServeSignalTests.moshiExecutable { environment["MOSHI"] = moshi }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: ServeSignalTests.moshiExecutable != nil, "the moshi executable is not built next to the tests"))
    func nginxTerminatesTLSForThePageAndWebSocket() throws {
        let (status, output) = try Self.run("scripts/test_nginx_https.sh")
        #expect(status == 0, "\(output)")
        #expect(output.contains("SKIP") || (output.contains("ok: the page over https") && output.contains("ok: a conversation over wss")), "\(output)")
    }
}
