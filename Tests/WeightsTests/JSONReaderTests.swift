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

@Suite struct JSONValueTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        let bytes = Array(text.utf8)
        let result: Result<JSONValue, JSONSyntaxError> = bytes.withUnsafeBytes { raw in
            do throws(JSONSyntaxError) { return .success(try JSONValue.parse(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    @Test func buildsTheTreeKeepingBooleansNumbersAndNullApart() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null, "x\u00e9\n"], "b": {"c": {}}, "a2": 0, "a2": 7} "#)
        let object = try #require(value.object)
        #expect(object["a"] == .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("xé\n")]))
        #expect(object["b"] == .object(["c": .object([:])]))
        #expect(object["a2"]?.integer == 7)  // the last of repeated keys wins
        #expect(JSONValue.number(2.5).integer == nil && JSONValue.bool(true).integer == nil)
        #expect(try parse("[]") == .array([]) && (try parse("3")).rendered == "3")
    }

    @Test func errorsSayWhereAndWhat() {
        #expect(throws: JSONSyntaxError.self) { try parse(#"{"a": 01}"#) }
        #expect(throws: JSONSyntaxError.self) { try parse(#"{"a": 1} x"#) }
        #expect(throws: JSONSyntaxError.self) { try parse("tru") }
        #expect(throws: JSONSyntaxError.self) { try parse("1e999") }
        do {
            _ = try parse(#"{"a": [1, 2,]}"#)
            Issue.record("a trailing comma was accepted")
        } catch {
            #expect(error.offset == 12 && error.description.hasPrefix("at byte 12: "))
        }
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONSyntaxError.self) { try parse(deep) }
    }
}
