#if canImport(Glibc)
@testable import MoshiClient
import Glibc
#endif

/// Polls `condition` every few milliseconds until it holds or `timeout` passes.
func waitUntil(_ timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// A raw HTTP exchange over a blocking loopback TCP socket (5 s timeouts): sends `request`
/// verbatim and reads until the server closes.
func rawHTTPExchange(port: Int, request: [UInt8]) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RawSocketError(call: "socket") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw RawSocketError(call: "connect") }
    var offset = 0
    while offset < request.count {
        let sent = request[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent <= 0 { break }  // the server may close early (oversized request): read what it said
        offset += sent
    }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if received <= 0 { break }
        response += chunk[0..<received]
    }
    return String(decoding: response, as: UTF8.self)
}

/// `GET path` with `Host` and nothing else.
func httpGet(port: Int, path: String, method: String = "GET") throws -> String {
    try rawHTTPExchange(port: port, request: Array("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
}

struct RawSocketError: Error, CustomStringConvertible {
    let call: String
    let code = errno
    var description: String { "\(call): \(String(cString: strerror(code)))" }
}

/// A bound AF_UNIX datagram socket standing in for systemd's notify socket.
final class NotifySocketStub {
    let fd: Int32
    /// What `NOTIFY_SOCKET` should say: the path, or `@name` for an abstract socket.
    let address: String
    private let path: String?

    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError(call: "socket") }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let unique = "moshi-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        var bytes: [UInt8]
        if abstract {
            bytes = [0] + Array(unique.utf8)
            address = "@" + unique
            path = nil
        } else {
            let file = "/tmp/\(unique).sock"
            bytes = Array(file.utf8) + [0]
            address = file
            path = file
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { close(fd); throw RawSocketError(call: "bind") }
    }

    /// The next datagram, or nil after the 2 s timeout.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count < 0 ? nil : String(decoding: buffer[0..<count], as: UTF8.self)
    }

    deinit {
        close(fd)
        if let path { unlink(path) }
    }
}
