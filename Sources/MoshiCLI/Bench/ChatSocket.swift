import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking client of Kyutai's WebSocket protocol on `/api/chat` (Docs/PROTOCOL.md), for
/// `moshi bench serve`: plain POSIX sockets, so that each simulated user is one sender and one
/// receiver thread that nothing else (an event loop, a shared pool) can delay. Client frames are
/// masked as RFC 6455 asks; the server's are read whole (it does not fragment).
final class ChatSocket: @unchecked Sendable {  // one thread sends, one receives
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var mask: UInt32 = 0x9E37_79B9

    /// Connects to `host:port` and upgrades `path` to a WebSocket.
    init(host: String, port: Int, path: String = "/api/chat", timeoutSeconds: Double = 10) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure(description: "cannot connect to \(host):\(port): \(reason)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        descriptor = fd
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try sendAll(Array(request.utf8))
        let head = try readUntil(Array("\r\n\r\n".utf8))
        let status = String(decoding: head.prefix { $0 != 13 }, as: UTF8.self)
        guard status.contains(" 101 ") else { throw Failure(description: "upgrade refused: \(status)") }
    }

    deinit { Glibc.close(descriptor) }

    /// Sends one binary message.
    func sendBinary(_ payload: [UInt8]) throws { try sendFrame(opcode: 0x2, payload) }

    /// Sends a Close frame (status 1000) and stops sending.
    func sendClose() { try? sendFrame(opcode: 0x8, [0x03, 0xE8]) }

    /// The next data message (Ping answered, Pong skipped), or nil when the server closed.
    func readMessage() throws -> (opcode: UInt8, payload: [UInt8])? {
        while true {
            guard let header = try readExactly(2) else { return nil }
            let opcode = header[0] & 0x0F
            var length = Int(header[1] & 0x7F)
            if length == 126 {
                guard let b = try readExactly(2) else { return nil }
                length = Int(b[0]) << 8 | Int(b[1])
            } else if length == 127 {
                guard let b = try readExactly(8) else { return nil }
                length = b.reduce(0) { $0 << 8 | Int($1) }
            }
            guard length <= 1 << 24 else { throw Failure(description: "a \(length)-byte message") }
            guard let payload = try readExactly(length) else { return nil }
            switch opcode {
            case 0x8: return nil
            case 0x9: try sendFrame(opcode: 0xA, payload)
            case 0xA: continue
            default: return (opcode, payload)
            }
        }
    }

    /// Unblocks a reader: no more input from either side.
    func shutdownBoth() { shutdown(descriptor, Int32(SHUT_RDWR)) }

    private func sendFrame(opcode: UInt8, _ payload: [UInt8]) throws {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        mask = mask &* 1_664_525 &+ 1_013_904_223
        let key = withUnsafeBytes(of: mask.bigEndian) { Array($0) }
        frame += key
        frame.reserveCapacity(frame.count + payload.count)
        for (i, byte) in payload.enumerated() { frame.append(byte ^ key[i & 3]) }
        try sendAll(frame)
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "send: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
    }

    /// Reads more bytes into the buffer; false at the end of the stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                buffer += chunk.prefix(n)
                return true
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure(description: "the server sent nothing for the read timeout") }
            if errno == ECONNRESET || errno == EBADF || errno == ENOTCONN { return false }
            throw Failure(description: "recv: \(String(cString: strerror(errno)))")
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8]? {
        while buffer.count < count { guard try fill() else { return nil } }
        let out = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return out
    }

    private func readUntil(_ terminator: [UInt8]) throws -> [UInt8] {
        while true {
            if let range = buffer.firstRange(of: terminator) {
                let out = Array(buffer[..<range.upperBound])
                buffer.removeFirst(range.upperBound)
                return out
            }
            guard buffer.count < 65536, try fill() else { throw Failure(description: "no HTTP response to the upgrade") }
        }
    }
}
