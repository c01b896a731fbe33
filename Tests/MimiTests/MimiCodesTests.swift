import Foundation
import Mimi
import Testing

@Suite("Mimi codes as .npy")
struct MimiCodesTests {
    /// `np.save` of `np.arange(12, dtype=np.int32).reshape(3, 4) - 5` (numpy 2.2.6).
    static let numpyInt32 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsIDQpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr7/////P////3////+/////////wAAAAABAAAAAgAAAAMAAAAEAAAABQAAAAYAAAA="
    /// `np.save` of `np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3) * 1000)`.
    static let numpyFortranInt64 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAALgLAAAAAAAA6AMAAAAAAACgDwAAAAAAANAHAAAAAAAAiBMAAAAAAAA="
    /// `np.save` of `np.arange(6, dtype=np.uint16).reshape(2, 3) + 2040`.
    static let numpyUInt16 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPHUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr4B/kH+gf7B/wH/Qc="

    static func bytes(_ base64: String) -> [UInt8] { [UInt8](Data(base64Encoded: base64)!) }

    @Test("writes exactly what numpy writes for an int32 array")
    func writesLikeNumpy() {
        let values: [Int32] = (0..<12).map { Int32($0) - 5 }
        let codes = MimiCodes(codebooks: 3, frames: 4, values: values)
        #expect(codes.npyBytes() == Self.bytes(Self.numpyInt32))
    }

    @Test("reads numpy's int32, Fortran-order int64 and uint16 arrays")
    func readsNumpy() throws {
        let a = try MimiCodes(npy: Self.bytes(Self.numpyInt32))
        #expect(a.codebooks == 3 && a.frames == 4)
        let expected: [Int32] = (0..<12).map { Int32($0) - 5 }
        #expect(a.values == expected)
        #expect(a.frame(1) == [-4, 0, 4])
        let b = try MimiCodes(npy: Self.bytes(Self.numpyFortranInt64))
        #expect(b.codebooks == 2 && b.frames == 3)
        #expect(b.values == [0, 1000, 2000, 3000, 4000, 5000])
        let c = try MimiCodes(npy: Self.bytes(Self.numpyUInt16))
        #expect(c.values == [2040, 2041, 2042, 2043, 2044, 2045])
    }

    @Test("round trip through bytes, and frames appended one at a time")
    func roundTrip() throws {
        var codes = MimiCodes(codebooks: 8)
        func frame(_ f: Int) -> [Int32] { (0..<8).map { Int32($0 * 100 + f) } }
        for f in 0..<5 { codes.append(frame: frame(f)) }
        #expect(codes.frames == 5)
        let third = frame(3)
        #expect(codes.frame(3) == third)
        #expect(try MimiCodes(npy: codes.npyBytes()) == codes)
        let empty = MimiCodes(codebooks: 8)
        #expect(try MimiCodes(npy: empty.npyBytes()) == empty)
    }

    @Test("bad files are errors: not npy, truncated, float dtype, 3-D, value beyond int32")
    func badFiles() {
        let good = Self.bytes(Self.numpyInt32)
        #expect(throws: MimiCodesFileError.self) { try MimiCodes(npy: Array("RIFF....WAVE".utf8)) }
        #expect(throws: MimiCodesFileError.self) { try MimiCodes(npy: Array(good.prefix(good.count - 3))) }
        #expect(throws: MimiCodesFileError.self) { try MimiCodes(npy: Array(good.prefix(40))) }
        func edited(_ from: String, _ to: String) -> [UInt8] {
            let text = String(decoding: good, as: UTF8.self).replacingOccurrences(of: from, with: to)
            return Array(good.prefix(10)) + Array(text.utf8.dropFirst(10).prefix(118)) + Array(good.dropFirst(128))
        }
        #expect(throws: MimiCodesFileError.self) { try MimiCodes(npy: edited("'<i4'", "'<f4'")) }
        #expect(throws: MimiCodesFileError.self) { try MimiCodes(npy: edited("(3, 4)", "(3,4,1)")) }
        #expect(throws: MimiCodesFileError.self) { try MimiCodes(npy: edited("'<i4'", "'>i4'")) }
        let big = Self.bytes(Self.numpyFortranInt64)
        var huge = big
        huge[huge.count - 1] = 0x7F      // last int64 element far beyond int32
        #expect(throws: MimiCodesFileError.self) { try MimiCodes(npy: huge) }
    }
}
