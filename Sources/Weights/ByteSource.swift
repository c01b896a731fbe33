/// Read-only bytes of a weight file and the object that keeps them alive: a `MappedFile`
/// for files on disk, `InMemoryBytes` for tests and fuzzers. Tensors are views into
/// `bytes` and hold their source, so the bytes live as long as any tensor does.
package protocol ByteSource: AnyObject, Sendable {
    /// What to call these bytes in error messages (a path, or a name given by the caller).
    var name: String { get }
    /// The whole file; valid for the lifetime of the source.
    var bytes: UnsafeRawBufferPointer { get }
}

/// A heap copy of some bytes that behaves like a weight file: the parsers read it exactly as
/// they read a mapped file. The copy is 64-byte aligned, as a page-aligned mapping would be.
package final class InMemoryBytes: ByteSource, @unchecked Sendable {
    package let name: String
    package let bytes: UnsafeRawBufferPointer
    private let allocation: UnsafeMutableRawPointer

    package init(_ contents: some Collection<UInt8>, name: String = "<memory>") {
        self.name = name
        let count = contents.count
        allocation = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        let storage = UnsafeMutableRawBufferPointer(start: allocation, count: count)
        _ = storage.initializeMemory(as: UInt8.self, from: contents)
        bytes = UnsafeRawBufferPointer(storage)
    }

    /// Copies `count` bytes from `start` (a fuzzer's input, for example).
    package convenience init(copying start: UnsafeRawPointer?, count: Int, name: String = "<memory>") {
        self.init(UnsafeRawBufferPointer(start: count > 0 ? start : nil, count: count), name: name)
    }

    deinit { allocation.deallocate() }
}
