/// Message kinds of Kyutai's streaming protocol (one type byte, then the payload), which the
/// framed protocol of `moshi serve` follows. The server itself lands with the daemon issue.
package enum MessageKind: UInt8, Sendable, CaseIterable {
    case handshake = 0
    case audio = 1
    case text = 2
    case control = 3
    case metadata = 4
    case error = 5
    case ping = 6
}
