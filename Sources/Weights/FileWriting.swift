#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `bytes` to `path`, replacing it (`open(O_CREAT | O_TRUNC)`, `write` until done, `close`).
func writeFile(_ bytes: [UInt8], to path: String) throws(WeightFileError) {
    func failure(_ call: String) -> WeightFileError {
        WeightFileError(.io, file: path, "\(call) failed: \(String(cString: strerror(errno)))")
    }
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw failure("open") }
    var written = 0
    let error: WeightFileError? = bytes.withUnsafeBytes { buffer in
        while written < buffer.count {
            let result = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                return failure("write")
            }
            written += result
        }
        return nil
    }
    if let error {
        close(descriptor)
        throw error
    }
    guard close(descriptor) == 0 else { throw failure("close") }
}
