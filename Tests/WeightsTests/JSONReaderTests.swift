import Testing
@testable import Weights

@Suite struct JSONReaderTests {
    func withReader<T>(_ text: String, _ body: (inout JSONReader) throws -> T) rethrows -> T {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { buffer in
            var reader = JSONReader(buffer)
            return try body(&reader)
        }
    }

    @Test func stringsUnescape() throws {
        let value = try withReader(#" "a\"b\\c\/d\n\t\u00e9\ud83d\ude00 é" "#) { try $0.readString() }
        #expect(value == "a\"b\\c/d\n\té😀 é")
    }

    @Test func integersAndTheirLimits() throws {
        #expect(try withReader("-9223372036854775808") { try $0.readInteger() } == Int.min)
        #expect(try withReader("9223372036854775807") { try $0.readInteger() } == Int.max)
        #expect(try withReader("-0") { try $0.readInteger() } == 0)
        #expect(throws: JSONError.self) { try withReader("9223372036854775808") { try $0.readInteger() } }
        #expect(throws: JSONError.self) { try withReader("1e3") { try $0.readInteger() } }
        #expect(throws: JSONError.self) { try withReader("-") { try $0.readInteger() } }
    }

    @Test func walksObjectsAndSkipsEverythingElse() throws {
        let keys = try withReader(#"{"a": [1, -2.5e-3, {"x": [true, false, null]}], "b": "s", "c": {}}"#) { reader in
            var names: [String] = []
            var object = try reader.beginObject()
            while let key = try reader.nextKey(in: &object) {
                names.append(key)
                try reader.skipValue()
            }
            try reader.expectEnd()
            return names
        }
        #expect(keys == ["a", "b", "c"])
    }

    @Test func errorsGiveTheOffset() throws {
        let error = try #require(withReader("[1, 2,, 3]") { reader -> JSONError? in
            do throws(JSONError) {
                try reader.skipValue()
                return nil
            } catch {
                return error
            }
        })
        #expect(error.offset == 6)
        #expect(error.message == "expected a value")
    }

    @Test func nestingLimitIsExact() throws {
        let ok = String(repeating: "[", count: JSONReader.maxDepth) + String(repeating: "]", count: JSONReader.maxDepth)
        try withReader(ok) { try $0.skipValue() }
        let deep = "[" + ok + "]"
        #expect(throws: JSONError.self) { try withReader(deep) { try $0.skipValue() } }
    }
}
