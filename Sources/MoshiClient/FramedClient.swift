import Server
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking client of the framed protocol over a plain socket: `moshi client` and the tests
/// use it. Sends the preamble and the handshake on `connect`; `receive` returns the server's
/// messages in order (its preamble checked and skipped). One thread may send while another receives.
package final class FramedClient: @unchecked Sendable {
    private let fd: Int32
    private var decoder: FramedDecoder
    private var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)
    private let sendLock = NSLock()

    /// Connects to `host:port` and sends the preamble and a handshake carrying `options`.
    package init(host: String, port: Int, options: SessionOptions = SessionOptions(), maximumPayload: Int = FramedProtocol.defaultMaximumPayload,
                receiveTimeoutSeconds: Double = 30) throws {
        fd = try Self.connect(host: host, port: port)
        decoder = FramedDecoder(maximumPayload: maximumPayload)
        var tv = timeval(tv_sec: Int(receiveTimeoutSeconds), tv_usec: Int((receiveTimeoutSeconds.truncatingRemainder(dividingBy: 1)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let json = (try? JSONEncoder().encode(options)).map { [UInt8]($0) } ?? []
        try sendRaw(FramedProtocol.preamble + FramedProtocol.encode(.handshake, payload: json))
    }

    deinit { Glibc.close(fd) }

    /// Sends one message.
    package func send(_ kind: MessageKind, payload: [UInt8]) throws {
        try sendRaw(FramedProtocol.encode(kind, payload: payload))
    }

    /// Sends bytes as they are (tests use it for malformed input).
    package func sendRaw(_ bytes: [UInt8]) throws {
        sendLock.lock()
        defer { sendLock.unlock() }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FramedClientError("send failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// The next message from the server; nil when the server closed the connection cleanly.
    /// Throws on a protocol error, a reset or the receive timeout.
    package func receive() throws -> FramedMessage? {
        while true {
            do {
                if let message = try decoder.next() { return message }
            } catch {
                throw FramedClientError("server sent bad data: \(error)")
            }
            let n = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 {
                do { try decoder.finish() } catch { throw FramedClientError("\(error)") }
                return nil
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw FramedClientError(errno == EAGAIN ? "timed out waiting for the server" : "receive failed: \(String(cString: strerror(errno)))")
            }
            decoder.push(readBuffer[0..<n])
        }
    }

    /// Says "no more audio" (half-close): the server finishes and closes.
    package func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Gives up on the connection both ways (`shutdown(SHUT_RDWR)`): a `receive` blocked on
    /// another thread returns. The descriptor is closed when the client is released.
    package func abort() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Shrinks the socket's receive buffer (tests of slow readers).
    package func setReceiveBuffer(bytes: Int) {
        var value = Int32(bytes)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    static func connect(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw FramedClientError("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                lastError = String(cString: strerror(errno))
                Glibc.close(fd)
            }
            entry = info.pointee.ai_next
        }
        throw FramedClientError("cannot connect to \(host):\(port): \(lastError)")
    }
}

/// Why the framed client failed.
package struct FramedClientError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
