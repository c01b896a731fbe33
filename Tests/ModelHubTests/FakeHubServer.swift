import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A local stand-in for huggingface.co: a small Python `http.server` run as a child process,
/// serving fake repos the way the hub does (file list API, `resolve` with `X-Linked-Etag` and a
/// redirect to a CDN path for LFS files, `ETag` = git blob hash for small files, `Range` support).
/// It logs every request (`/_log`), exits when its stdin closes (so it never outlives the test
/// process), and `stop()` ends it.
final class FakeHubServer {
    /// One file of a fake repo.
    struct File {
        var content: Data
        var lfs = true
        /// An ETag to announce instead of the true checksum (to provoke a mismatch).
        var announcedETag: String?
    }

    struct Repo {
        var commit: String
        var files: [String: File]
    }

    /// One request the server saw.
    struct Request: Equatable {
        let method: String
        let path: String
        let range: String?
    }

    static let isAvailable: Bool = pythonPath != nil

    static let pythonPath: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }
    private let process: Process
    private let stdin: Pipe
    private let directory: URL

    /// Starts a server for `repos`; `ignoreRange` makes it answer every range request with the whole
    /// file; `cutFirstDownloadAfter` makes the first whole-file CDN transfer stop after that many bytes
    /// (the connection closes early, as when a network drops).
    init(repos: [String: Repo], ignoreRange: Bool = false, cutFirstDownloadAfter: Int? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fakehub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var repoConfig: [String: Any] = [:]
        for (id, repo) in repos {
            var files: [String: Any] = [:]
            for (index, (name, file)) in repo.files.sorted(by: { $0.key < $1.key }).enumerated() {
                let contentPath = directory.appendingPathComponent("content-\(id.replacingOccurrences(of: "/", with: "_"))-\(index)")
                try file.content.write(to: contentPath)
                var entry: [String: Any] = ["path": contentPath.path, "lfs": file.lfs]
                if let etag = file.announcedETag { entry["etag"] = etag }
                files[name] = entry
            }
            repoConfig[id] = ["sha": repo.commit, "files": files]
        }
        var config: [String: Any] = ["ignore_range": ignoreRange, "repos": repoConfig]
        if let cutFirstDownloadAfter { config["cut_after"] = cutFirstDownloadAfter }
        let configPath = directory.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configPath)
        let scriptPath = directory.appendingPathComponent("fake_hub.py")
        try Data(Self.script.utf8).write(to: scriptPath)

        guard let python = Self.pythonPath else { throw ServerError("python3 not found") }
        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [scriptPath.path, configPath.path]
        stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        // The first line is the port; EOF (the script failed) gives an empty line and an error.
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
            process.waitUntilExit()
            throw ServerError("the fake hub did not start")
        }
        self.port = port
    }

    deinit { stop() }

    /// Ends the server process and removes its files.
    func stop() {
        if process.isRunning {
            try? stdin.fileHandleForWriting.close()
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Every request so far, in order (the log requests themselves excluded).
    func requests() throws -> [Request] {
        let data = try Data(contentsOf: URL(string: "\(endpoint)/_log")!)
        let entries = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return entries.map {
            Request(method: $0["method"] as? String ?? "", path: $0["path"] as? String ?? "", range: $0["range"] as? String)
        }
    }

    /// A localhost port with nothing listening (bound, then closed).
    static func closedPort() -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                _ = bind(fd, generic, length)
                _ = getsockname(fd, generic, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let script = #"""
import hashlib, http.server, json, os, sys, threading, time

config = json.load(open(sys.argv[1]))
log = []
lock = threading.Lock()

def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.handle_request(False)

    def do_GET(self):
        self.handle_request(True)

    def reply(self, status, headers, body, send_body):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def handle_request(self, send_body):
        path = self.path
        if path == "/_log":
            with lock:
                body = json.dumps(log).encode()
            return self.reply(200, {"Content-Type": "application/json"}, body, send_body)
        with lock:
            log.append({"method": self.command, "path": path, "range": self.headers.get("Range")})
        if path.startswith("/hang/"):
            time.sleep(30)
            return
        parts = path.lstrip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "revision":
            repo = config["repos"].get(parts[2] + "/" + parts[3])
            if repo is None:
                return self.reply(404, {}, b'{"error":"Repository not found"}', send_body)
            listing = {"sha": repo["sha"], "siblings": [{"rfilename": name} for name in sorted(repo["files"])]}
            return self.reply(200, {"Content-Type": "application/json"}, json.dumps(listing).encode(), send_body)
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = config["repos"].get(parts[0] + "/" + parts[1])
            name = "/".join(parts[4:])
            if repo is None or parts[3] != repo["sha"] or name not in repo["files"]:
                return self.reply(404, {"X-Error-Code": "EntryNotFound"}, b"Entry not found", send_body)
            entry = repo["files"][name]
            data = open(entry["path"], "rb").read()
            if entry["lfs"]:
                etag = entry.get("etag", hashlib.sha256(data).hexdigest())
                headers = {"Location": "/cdn/" + parts[0] + "/" + parts[1] + "/" + name,
                           "X-Linked-Etag": '"%s"' % etag, "X-Linked-Size": str(len(data)),
                           "X-Repo-Commit": repo["sha"], "ETag": '"not-the-content-hash"'}
                return self.reply(302, headers, b"", send_body)
            etag = entry.get("etag", git_sha1(data))
            return self.serve(data, {"ETag": '"%s"' % etag, "X-Repo-Commit": repo["sha"]}, send_body)
        if parts[0] == "cdn" and len(parts) >= 4:
            repo = config["repos"].get(parts[1] + "/" + parts[2])
            name = "/".join(parts[3:])
            if repo is None or name not in repo["files"]:
                return self.reply(404, {}, b"no such object", send_body)
            data = open(repo["files"][name]["path"], "rb").read()
            with lock:
                cut = config.pop("cut_after", None) if send_body and not self.headers.get("Range") else None
            if cut is not None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            return self.serve(data, {"ETag": '"cdn-etag"'}, send_body)
        return self.reply(404, {}, b"not found", send_body)

    def serve(self, data, headers, send_body):
        requested = self.headers.get("Range")
        if requested and not config.get("ignore_range") and requested.startswith("bytes=") and requested.endswith("-"):
            start = int(requested[6:-1])
            if start >= len(data):
                return self.reply(416, {"Content-Range": "bytes */%d" % len(data)}, b"", send_body)
            headers = dict(headers, **{"Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))})
            return self.reply(206, headers, data[start:], send_body)
        return self.reply(200, headers, data, send_body)

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)

def watch_parent():
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)

threading.Thread(target=watch_parent, daemon=True).start()
server.serve_forever()
"""#
}
