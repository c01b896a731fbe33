import Foundation
import Testing
@testable import Weights

/// Files the tests write, in one temporary folder per test process.
enum Scratch {
    static let folder: String = {
        let path = NSTemporaryDirectory() + "weights-tests-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Writes `bytes` to a fresh file named after `name` and returns its path.
    static func write(_ bytes: [UInt8], _ name: String) -> String {
        let path = folder + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}

/// The committed reference files (written by scripts/make_weight_fixtures.py).
enum Fixtures {
    static func path(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return url.appendingPathComponent(name).path
    }
}

/// A safetensors file from a header text and data bytes; `declaredLength` overrides the
/// length prefix (to test lies about it).
func safetensorsBytes(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
    let json = Array(header.utf8)
    var out: [UInt8] = []
    withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { out += $0 }
    return out + json + data
}

func parseSafetensors(_ bytes: [UInt8]) throws(WeightFileError) -> SafetensorsFile {
    try SafetensorsFile(source: InMemoryBytes(bytes, name: "test.safetensors"))
}

func parseGGUF(_ bytes: [UInt8]) throws(WeightFileError) -> GGUFFile {
    try GGUFFile(source: InMemoryBytes(bytes, name: "test.gguf"))
}

/// The `WeightFileError` that `body` throws, or nil if it throws nothing (or something else).
func weightError(_ body: () throws -> Void) -> WeightFileError? {
    do {
        try body()
        return nil
    } catch let error as WeightFileError {
        return error
    } catch {
        return nil
    }
}

/// Little-endian bytes of an integer, for building GGUF files by hand.
func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// A GGUF string: u64 length then the bytes.
func ggufString(_ text: String) -> [UInt8] {
    le(UInt64(text.utf8.count)) + Array(text.utf8)
}

/// A GGUF header built by hand: magic, version, counts, then `body` (key-values and tensor infos).
func ggufBytes(version: UInt32 = 3, tensors: UInt64, keyValues: UInt64, body: [UInt8] = []) -> [UInt8] {
    Array("GGUF".utf8) + le(version) + le(tensors) + le(keyValues) + body
}

/// One GGUF tensor info: name, n_dims, dims (innermost first), type, offset.
func ggufTensorInfo(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) -> [UInt8] {
    ggufString(name) + le(UInt32(dims.count)) + dims.flatMap { le($0) } + le(type) + le(offset)
}

/// `bytes` padded with zeros to a multiple of `alignment`.
func padded(_ bytes: [UInt8], to alignment: Int = 32) -> [UInt8] {
    bytes + [UInt8](repeating: 0, count: (alignment - bytes.count % alignment) % alignment)
}

/// The f32 bit patterns of values, to compare floats exactly (NaN and -0 included).
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
