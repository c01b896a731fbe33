import Testing
@testable import Weights

@Suite struct MappedFileTests {
    @Test func mapsTheWholeFile() throws {
        let path = Scratch.write([1, 2, 3, 250], "four-bytes.bin")
        let file = try MappedFile(path: path)
        #expect(Array(file.bytes) == [1, 2, 3, 250])
        #expect(file.name == path)
        file.prefetch()
    }

    @Test func errorsNameThePathAndTheErrno() throws {
        let missing = try #require(weightError { _ = try MappedFile(path: "/nonexistent/model.safetensors") })
        #expect(missing.kind == .io)
        #expect(missing.description == "/nonexistent/model.safetensors: open failed: No such file or directory")
        let directory = try #require(weightError { _ = try MappedFile(path: Scratch.folder) })
        #expect(directory.description == "\(Scratch.folder): not a regular file")
        let empty = try #require(weightError { _ = try MappedFile(path: Scratch.write([], "empty.safetensors")) })
        #expect(empty.description.hasSuffix("empty.safetensors: the file is empty"))
    }

    @Test func inMemoryBytesCopy() {
        let bytes = InMemoryBytes([9, 8, 7], name: "mem")
        #expect(Array(bytes.bytes) == [9, 8, 7])
        #expect(Int(bitPattern: bytes.bytes.baseAddress) % 64 == 0)
        #expect(InMemoryBytes([]).bytes.count == 0)
    }
}
