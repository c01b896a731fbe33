#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Engine

/// `sd_notify` without libsystemd: datagrams to the socket named by `$NOTIFY_SOCKET` (a path, or
/// an abstract socket written `@name`). With no `$NOTIFY_SOCKET` (not started by systemd, or not
/// `Type=notify`) every call is a no-op that returns `false`.
///
/// Each message opens a datagram socket, sends and closes, like `sd_notify`: a syscall or three,
/// so not for the compute thread (feed `FrameHeartbeat` there and let `SystemdWatchdog` ping).
package struct SystemdNotifier: Sendable {
    /// Why a notification could not be sent.
    package enum NotifyError: Error, Sendable, Equatable, CustomStringConvertible {
        /// `$NOTIFY_SOCKET` is neither an absolute path nor `@abstract`, or is too long for `sockaddr_un`.
        case invalidSocketAddress(String)
        /// A system call failed.
        case system(call: String, errno: Int32)

        package var description: String {
            switch self {
            case .invalidSocketAddress(let address):
                "NOTIFY_SOCKET=\(address) is not an absolute path or @abstract name of at most 107 bytes"
            case let .system(call, code):
                "sd_notify: \(call) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// The socket address from `$NOTIFY_SOCKET`, or nil when unset or empty.
    package let socketAddress: String?

    /// Reads `NOTIFY_SOCKET` from `environment`.
    package init(environment: [String: String]) {
        let value = environment["NOTIFY_SOCKET"] ?? ""
        socketAddress = value.isEmpty ? nil : value
    }

    /// Reads `NOTIFY_SOCKET` from the process environment.
    package init() {
        socketAddress = getenv("NOTIFY_SOCKET").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether a notify socket was given.
    package var isEnabled: Bool { socketAddress != nil }

    /// Sends `state` (newline-separated `KEY=VALUE` assignments). Returns false when disabled.
    @discardableResult
    package func notify(_ state: String) throws(NotifyError) -> Bool {
        guard let socketAddress else { return false }
        var address = try Self.makeAddress(socketAddress)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(call: "socket", errno: errno) }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address.storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { buffer in
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress, address.length)
                }
            }
        }
        guard sent >= 0 else { throw .system(call: "sendto", errno: errno) }
        return true
    }

    /// `READY=1` (with an optional `STATUS=`): the model is loaded and warmed up.
    @discardableResult
    package func ready(status: String? = nil) throws(NotifyError) -> Bool {
        try notify(status.map { "READY=1\nSTATUS=\(Self.oneLine($0))" } ?? "READY=1")
    }

    /// `STOPPING=1` (with an optional `STATUS=`): draining for shutdown.
    @discardableResult
    package func stopping(status: String? = nil) throws(NotifyError) -> Bool {
        try notify(status.map { "STOPPING=1\nSTATUS=\(Self.oneLine($0))" } ?? "STOPPING=1")
    }

    /// `RELOADING=1` plus `MONOTONIC_USEC` (what `Type=notify-reload` expects); send `ready()` when done.
    @discardableResult
    package func reloading() throws(NotifyError) -> Bool {
        let microseconds = MonotonicClock.nanoseconds() / 1_000
        return try notify("RELOADING=1\nMONOTONIC_USEC=\(microseconds)")
    }

    /// `STATUS=...`: a one-line status shown by `systemctl status`.
    @discardableResult
    package func status(_ text: String) throws(NotifyError) -> Bool { try notify("STATUS=\(Self.oneLine(text))") }

    /// `WATCHDOG=1`: the service is alive.
    @discardableResult
    package func watchdog() throws(NotifyError) -> Bool { try notify("WATCHDOG=1") }

    /// `EXTEND_TIMEOUT_USEC=...`: more time for the current start-up or shutdown phase.
    @discardableResult
    package func extendTimeout(microseconds: UInt64) throws(NotifyError) -> Bool {
        try notify("EXTEND_TIMEOUT_USEC=\(microseconds)")
    }

    // MARK: Addresses

    /// A `sockaddr_un` and its length for `address` (`/path` or `@abstract`).
    static func makeAddress(_ address: String) throws(NotifyError) -> (storage: sockaddr_un, length: socklen_t) {
        var bytes = Array(address.utf8)
        let isAbstract = bytes.first == UInt8(ascii: "@")
        guard isAbstract || bytes.first == UInt8(ascii: "/") else { throw .invalidSocketAddress(address) }
        if isAbstract { bytes[0] = 0 }
        var storage = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        // A path needs room for its terminating NUL; an abstract name does not have one.
        guard bytes.count > 1, bytes.count + (isAbstract ? 0 : 1) <= capacity, !bytes.dropFirst().contains(0) else {
            throw .invalidSocketAddress(address)
        }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let length = pathOffset + bytes.count + (isAbstract ? 0 : 1)
        return (storage, socklen_t(length))
    }

    private static func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
