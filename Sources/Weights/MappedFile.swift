#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory (`open`, `fstat`, `mmap(PROT_READ, MAP_PRIVATE)`),
/// unmapped (`munmap`) in `deinit`. Opening costs no reading: pages come in from the page cache
/// when a tensor is first touched, so a 15 GB checkpoint opens in the time its header parses.
///
/// The descriptor is closed right after `mmap`: the mapping keeps the file alive by itself,
/// and a process that opens many weight files holds no descriptors for them.
package final class MappedFile: ByteSource, @unchecked Sendable {
    /// The path as given; errors and tensors name the file by it.
    package let path: String
    package let bytes: UnsafeRawBufferPointer
    package var name: String { path }

    package init(path: String) throws(WeightFileError) {
        self.path = path
        func failure(_ call: String, _ code: Int32) -> WeightFileError {
            WeightFileError(.io, file: path, "\(call) failed: \(String(cString: strerror(code)))")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open", errno) }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("fstat", errno) }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw WeightFileError(.io, file: path, "not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else { throw WeightFileError(.io, file: path, "the file is empty") }

        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else { throw failure("mmap", errno) }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Asks the kernel to read the whole file ahead (`madvise(MADV_WILLNEED)`), so the first
    /// forward pass does not wait on page faults. Advice only: failures are ignored.
    package func prefetch() {
        guard let base = bytes.baseAddress else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), bytes.count, MADV_WILLNEED)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
