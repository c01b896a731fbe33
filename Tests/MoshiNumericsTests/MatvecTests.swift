import CKernels
import Testing
@testable import MoshiNumerics

/// y for one matrix, vector, precision and path.
func product(_ m: WeightMatrix, _ x: [Float], precision: MatvecPrecision = .exact, path: KernelPath = .best,
             pool: ThreadPool? = nil, bias: [Float]? = nil, initial: [Float]? = nil, misalignX: Bool = false) throws -> [Float] {
    let mv = try Matvec(m, precision: precision)
    var y = initial ?? [Float](repeating: .nan, count: m.rows)
    // misalignX: x one float past a 64-byte boundary, so no kernel may assume aligned activations.
    let shifted = misalignX ? [Float(0)] + x : x
    shifted.withUnsafeBufferPointer { whole in
        let xp = UnsafeBufferPointer(rebasing: whole[(misalignX ? 1 : 0)...])
        y.withUnsafeMutableBufferPointer { yp in
            if let bias {
                bias.withUnsafeBufferPointer { mv.run(xp.baseAddress!, into: yp.baseAddress!, pool: pool, bias: $0.baseAddress!, accumulate: initial != nil, path: path) }
            } else {
                mv.run(xp.baseAddress!, into: yp.baseAddress!, pool: pool, accumulate: initial != nil, path: path)
            }
        }
    }
    return y
}

/// The SIMD paths this CPU runs (every one is checked against the scalar reference).
let simdPaths = KernelPath.available.filter { $0 != .scalar }

/// sum_c |w[r, c] x[c]| per row: the scale a float error is measured against.
func magnitudes(_ m: WeightMatrix, _ x: [Float]) throws -> [Double] {
    let w = try m.dequantized()
    return (0..<m.rows).map { r in (0..<m.cols).reduce(0.0) { $0 + abs(Double(w[r * m.cols + $1]) * Double(x[$1])) } }
}

@Suite struct MatvecTests {
    /// Random shapes: rows not a multiple of the 4-row kernels or 16-row chunks, columns a
    /// multiple of the block/group but (for dense formats) not of the SIMD width.
    static func shape(_ format: WeightFormat, _ rng: inout SplitMix) -> (rows: Int, cols: Int) {
        let multiple = columnMultiple(format)
        return (rng.int(1...70), multiple == 1 ? rng.int(1...300) : multiple * rng.int(1...9))
    }

    @Test(arguments: allTestFormats)
    func fastPathMatchesScalarReference(format: WeightFormat) throws {
        var rng = SplitMix(seed: 7)
        for trial in 0..<8 {
            let (rows, cols) = Self.shape(format, &rng)
            let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng, centered: trial % 2 == 1)
            let x = (0..<cols).map { _ in rng.float() }
            let reference = try product(t.matrix, x, path: .scalar)
            let scale = try magnitudes(t.matrix, x)
            for path in [KernelPath.best] + simdPaths {
                let fast = try product(t.matrix, x, path: path, misalignX: trial % 2 == 0)
                for r in 0..<rows {
                    #expect(abs(Double(fast[r]) - Double(reference[r])) <= 1e-5 * scale[r] + 1e-30,
                            "\(format) \(path) trial \(trial) [\(rows)x\(cols)] row \(r): \(fast[r]) vs \(reference[r])")
                }
            }
        }
    }

    /// Every path on wide ragged shapes (many blocks, rows past the 4-row and 16-row kernels,
    /// dense columns past the 64-wide loops), split over 1, 2 and 3 threads.
    @Test(arguments: allTestFormats)
    func everyPathMatchesScalarOnWideShapesAndThreads(format: WeightFormat) throws {
        var rng = SplitMix(seed: 17)
        let multiple = columnMultiple(format)
        let cols = multiple == 1 ? 1000 + rng.int(1...63) : multiple * (1024 / multiple + rng.int(1...3))
        let rows = 61 + 16 * rng.int(1...4)
        let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng, centered: true)
        let x = (0..<cols).map { _ in rng.float() }
        let scale = try magnitudes(t.matrix, x)
        let precisions: [MatvecPrecision] = mk_format_has_i8(format.kernelMatrixFormat) != 0 ? [.exact, .int8Activations] : [.exact]
        for precision in precisions {
            let reference = try product(t.matrix, x, precision: precision, path: .scalar)
            for path in simdPaths {
                for threads in [1, 2, 3] {
                    let fast = try product(t.matrix, x, precision: precision, path: path, pool: ThreadPool(threads: threads), misalignX: true)
                    for r in 0..<rows {
                        #expect(abs(Double(fast[r]) - Double(reference[r])) <= 1e-5 * scale[r] + 1e-30,
                                "\(format) \(precision) \(path) \(threads) threads [\(rows)x\(cols)] row \(r): \(fast[r]) vs \(reference[r])")
                    }
                }
            }
        }
    }

    @Test(arguments: allTestFormats)
    func scalarReferenceIsTheDequantizedMatrixTimesX(format: WeightFormat) throws {
        var rng = SplitMix(seed: 8)
        let (rows, cols) = Self.shape(format, &rng)
        let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng)
        let x = (0..<cols).map { _ in rng.float() }
        let w = try t.matrix.dequantized()
        let reference = try product(t.matrix, x, path: .scalar)
        for r in 0..<rows {
            let direct = (0..<cols).reduce(0.0) { $0 + Double(w[r * cols + $1]) * Double(x[$1]) }
            #expect(reference[r] == Float(direct), "\(format) row \(r)")
        }
    }

    @Test(arguments: allTestFormats.filter { mk_format_has_i8($0.kernelMatrixFormat) != 0 })
    func int8PathMatchesItsReferenceAndStaysCloseToExact(format: WeightFormat) throws {
        var rng = SplitMix(seed: 11)
        for trial in 0..<6 {
            let rows = rng.int(16...40)         // enough rows that one near-zero output does not dominate the L2 ratio
            let cols = columnMultiple(format) * rng.int(1...8)
            let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng, centered: trial % 2 == 1)
            let x = (0..<cols).map { _ in rng.float() }
            let reference = try product(t.matrix, x, precision: .int8Activations, path: .scalar)
            let fast = try product(t.matrix, x, precision: .int8Activations, path: .best)
            let exact = try product(t.matrix, x, path: .scalar)
            let scale = try magnitudes(t.matrix, x)
            var errorSquares = 0.0, norm = 0.0
            for r in 0..<rows {
                #expect(abs(Double(fast[r]) - Double(reference[r])) <= 1e-5 * scale[r] + 1e-30, "\(format) row \(r)")
                errorSquares += (Double(fast[r]) - Double(exact[r])) * (Double(fast[r]) - Double(exact[r]))
                norm += Double(exact[r]) * Double(exact[r])
            }
            for path in simdPaths {
                let other = try product(t.matrix, x, precision: .int8Activations, path: path, misalignX: true)
                for r in 0..<rows {
                    #expect(abs(Double(other[r]) - Double(reference[r])) <= 1e-5 * scale[r] + 1e-30, "\(format) \(path) row \(r)")
                }
            }
            let relative = (errorSquares / max(norm, 1e-30)).squareRoot()
            #expect(relative < 1e-2, "\(format): int8 path relative L2 error \(relative)")
            #expect(relative > 0, "\(format): the int8 path should differ from the exact one")
        }
    }

    @Test func int8PrecisionLeavesDenseFormatsExact() throws {
        var rng = SplitMix(seed: 12)
        for format in [WeightFormat.f32, .bf16, .f16] {
            let t = TestMatrix(rows: 9, cols: 70, format: format, rng: &rng)
            let x = (0..<70).map { _ in rng.float() }
            #expect(try product(t.matrix, x, precision: .int8Activations) == product(t.matrix, x))
        }
    }

    @Test func activationQuantizerIsTheSameOnEveryPath() {
        var rng = SplitMix(seed: 13)
        // Random blocks, a block with exact ties (x / d = k + 0.5), an all-zero block, one huge value.
        var x = (0..<(32 * 6)).map { _ in rng.float() * 3 }
        for j in 0..<32 { x[32 + j] = Float(j - 16) + 0.5 }        // max 15.5 -> d = 15.5/127
        x[32 + 31] = 127                                            // d = 1: ties at k + 0.5
        for j in 0..<32 { x[64 + j] = 0 }
        x[96] = 1e30
        var q = [[Int8]](repeating: [Int8](repeating: 0, count: x.count), count: 2)
        var d = [[Float]](repeating: [Float](repeating: 0, count: 6), count: 2)
        var s = [[Int32]](repeating: [Int32](repeating: 0, count: 6), count: 2)
        let paths = [KernelPath.scalar, .best] + simdPaths
        q = [[Int8]](repeating: q[0], count: paths.count)
        d = [[Float]](repeating: d[0], count: paths.count)
        s = [[Int32]](repeating: s[0], count: paths.count)
        for (i, path) in paths.enumerated() {
            mk_quantize_activations(x, 6, &q[i], &d[i], &s[i], path.rawValue)
        }
        for i in 1..<paths.count {
            #expect(q[0] == q[i], "\(paths[i])")
            #expect(d[0] == d[i], "\(paths[i])")
            #expect(s[0] == s[i], "\(paths[i])")
        }
        // Hand-computed: block 1 has d = 1, so xq = x rounded to nearest even, clamped.
        #expect(d[0][1] == 1)
        let expected: [Int8] = (0..<31).map { j in Int8((Float(j - 16) + 0.5).rounded(.toNearestOrEven)) } + [127]
        #expect(Array(q[0][32..<64]) == expected)
        #expect(s[0][1] == expected.reduce(0) { $0 + Int32($1) })
        #expect(d[0][2] == 0 && q[0][64..<96].allSatisfy { $0 == 0 })
        #expect(q[0][96] == 127 && q[0][97..<128].allSatisfy { $0 == 0 })
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        var rng = SplitMix(seed: 3)
        for format in [WeightFormat.q4_0, .bf16, .mlxAffine(bits: 8, groupSize: 64, scaleType: .f16)] {
            let t = TestMatrix(rows: 1003, cols: 512, format: format, rng: &rng)
            let x = (0..<512).map { _ in rng.float() }
            for path in [KernelPath.best] + simdPaths {
                let one = try product(t.matrix, x, path: path)
                let oneInt8 = try product(t.matrix, x, precision: .int8Activations, path: path)
                for threads in [1, 2, 3] {
                    let pool = ThreadPool(threads: threads)
                    #expect(try product(t.matrix, x, path: path, pool: pool) == one, "\(format) \(path), \(threads) threads")
                    #expect(try product(t.matrix, x, precision: .int8Activations, path: path, pool: pool) == oneInt8, "\(format) \(path), \(threads) threads")
                }
            }
        }
    }

    @Test func biasAndAccumulate() throws {
        var rng = SplitMix(seed: 4)
        let t = TestMatrix(rows: 37, cols: 96, format: .q8_0, rng: &rng)
        let x = (0..<96).map { _ in rng.float() }
        let bias = (0..<37).map { _ in rng.float() }
        let initial = (0..<37).map { _ in rng.float() }
        let plain = try product(t.matrix, x)
        let biased = try product(t.matrix, x, bias: bias)
        let accumulated = try product(t.matrix, x, bias: bias, initial: initial)
        let added = try product(t.matrix, x, initial: initial)
        for r in 0..<37 {
            #expect(biased[r] == plain[r] + bias[r])
            #expect(accumulated[r] == plain[r] + bias[r] + initial[r])
            #expect(added[r] == plain[r] + initial[r])
        }
    }

    @Test(arguments: [MatvecPrecision.exact, .int8Activations])
    func batchEqualsOneVectorAtATime(precision: MatvecPrecision) throws {
        var rng = SplitMix(seed: 5)
        for format in [WeightFormat.bf16, .q4_0, .mlxAffine(bits: 4, groupSize: 64, scaleType: .bf16)] {
            let t = TestMatrix(rows: 300, cols: 256, format: format, rng: &rng)
            let x = (0..<(3 * 256)).map { _ in rng.float() }
            let mv = try Matvec(t.matrix, precision: precision, batch: 3)
            var y = [Float](repeating: 0, count: 3 * 300)
            let pool = ThreadPool(threads: 2)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { mv.runBatch(xp.baseAddress!, count: 3, into: $0.baseAddress!, pool: pool) } }
            for v in 0..<3 {
                let single = try product(t.matrix, Array(x[(v * 256)..<((v + 1) * 256)]), precision: precision)
                #expect(Array(y[(v * 300)..<((v + 1) * 300)]) == single, "\(format) vector \(v)")
            }
        }
    }

    @Test func emptyMatricesAreFine() throws {
        var rng = SplitMix(seed: 6)
        let noColumns = TestMatrix(rows: 5, cols: 0, format: .f32, rng: &rng)
        #expect(try product(noColumns.matrix, []) == [0, 0, 0, 0, 0])
        let noRows = TestMatrix(rows: 0, cols: 64, format: .q8_0, rng: &rng)
        #expect(try product(noRows.matrix, [Float](repeating: 1, count: 64)) == [])
    }

    @Test func badGeometryIsRejected() throws {
        let p = UnsafeRawPointer(bitPattern: 64)!
        #expect(throws: MatvecError.self) { try WeightMatrix(rows: 2, cols: 48, format: .q8_0, data: p).validate() }
        #expect(throws: MatvecError.self) { try WeightMatrix(rows: -1, cols: 32, format: .q4_0, data: p).validate() }
        #expect(throws: MatvecError.self) {
            try WeightMatrix(rows: 2, cols: 64, format: .mlxAffine(bits: 4, groupSize: 48, scaleType: .f16), data: p, scales: p, biases: p).validate()
        }
        #expect(throws: MatvecError.self) {
            try WeightMatrix(rows: 2, cols: 64, format: .mlxAffine(bits: 3, groupSize: 32, scaleType: .f16), data: p, scales: p, biases: p).validate()
        }
        #expect(throws: MatvecError.self) { try WeightMatrix(rows: 2, cols: 64, format: .mlxAffine(bits: 4, groupSize: 32, scaleType: .f16), data: p).validate() }
        #expect(throws: MatvecError.self) { try Matvec(WeightMatrix(rows: 2, cols: 64, format: .f32, data: p), scratch: MatvecScratch(columns: 32)) }
        #expect(throws: MatvecError.self) { try WeightMatrix(rows: 2, cols: 48, format: .q8_0, data: p).dequantized() }
    }
}

extension WeightFormat {
    var kernelMatrixFormat: Int32 {
        WeightMatrix(rows: 1, cols: 32, format: self, data: UnsafeRawPointer(bitPattern: 64)!).kernelMatrix.format
    }
}

/// The exact 4-bit kernels of the AVX-512 path (MLX 4-bit and Q4_0: vpdpbusd on three int8 limbs of
/// x, per 8 columns x = d / 2^16 * (a1 * 2^16 + a2 * 2^8 + a3)) against the scalar reference: every
/// group size and scale type, ragged rows, columns that end inside a 128-column chunk, and
/// activations with zeros, tiny, subnormal and huge values.
@Suite struct ExactFourBitKernelTests {
    static let formats: [WeightFormat] = [
        .mlxAffine(bits: 4, groupSize: 32, scaleType: .f16), .mlxAffine(bits: 4, groupSize: 32, scaleType: .bf16),
        .mlxAffine(bits: 4, groupSize: 64, scaleType: .f32), .mlxAffine(bits: 4, groupSize: 64, scaleType: .f16),
        .mlxAffine(bits: 4, groupSize: 128, scaleType: .bf16), .q4_0,
    ]

    @Test(arguments: formats)
    func matchesScalarWithExtremeActivations(format: WeightFormat) throws {
        var rng = SplitMix(seed: 29)
        let group = columnMultiple(format)
        for trial in 0..<6 {
            let rows = [1, 3, 4, 5, 17, 66][trial]
            let cols = group * [1, 3, 5, 4 * 1024 / group + 1, 7, 2][trial]
            let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng, centered: trial % 2 == 0)
            var x = (0..<cols).map { _ in rng.float() }
            for c in 0..<cols {
                switch rng.int(0...9) {
                case 0: x[c] = 0
                case 1: x[c] = rng.float() * 1e-30
                case 2: x[c] = rng.float() * 1e-40          // subnormal
                case 3: x[c] = rng.float() * 1e30
                case 4: x[c] = rng.float() * 1e-7
                default: break
                }
            }
            if trial == 5 { x = [Float](repeating: 0, count: cols) }
            let reference = try product(t.matrix, x, path: .scalar)
            let scale = try magnitudes(t.matrix, x)
            for path in [KernelPath.best] + simdPaths {
                for threads in [1, 2] {
                    let fast = try product(t.matrix, x, path: path, pool: ThreadPool(threads: threads), misalignX: trial % 2 == 1)
                    for r in 0..<rows {
                        #expect(abs(Double(fast[r]) - Double(reference[r])) <= 1e-5 * scale[r] + 1e-30,
                                "\(format) \(path) trial \(trial) [\(rows)x\(cols)] row \(r): \(fast[r]) vs \(reference[r])")
                    }
                }
            }
        }
    }

    /// An f32 x holds 24 significant bits; the three int8 limbs must carry them (to 2^-24 of the
    /// largest |x| of its 8 columns): with x chosen so that the low bits matter (1 + k * 2^-23) and
    /// weights that do not cancel, the result must be as close to the reference as f32 summation
    /// allows (relative L2 below 1e-7; with the third limb dropped the test goes red).
    @Test(arguments: [WeightFormat.mlxAffine(bits: 4, groupSize: 32, scaleType: .f32), .q4_0])
    func lowBitsOfXAreKept(format: WeightFormat) throws {
        var rng = SplitMix(seed: 31)
        let rows = 9, cols = 256
        let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng, centered: false)
        let x: [Float] = (0..<cols).map { (c: Int) -> Float in
            let low: Float = Float(c * 40503 % 65536 + 1) * 0x1p-23
            let middle: Float = Float(c % 3) * 0x1p-10
            return 1 + low + middle
        }
        let reference = try product(t.matrix, x, path: .scalar)
        let scale = try magnitudes(t.matrix, x)
        for path in [KernelPath.best] + simdPaths {
            let fast = try product(t.matrix, x, path: path)
            var error = 0.0, norm = 0.0
            for r in 0..<rows {
                error += (Double(fast[r]) - Double(reference[r])) * (Double(fast[r]) - Double(reference[r]))
                norm += scale[r] * scale[r]
            }
            let relative = (error / norm).squareRoot()
            #expect(relative < 1e-7, "\(format) \(path): relative L2 error \(relative) against sum |w x|")
        }
    }

    /// Lanes (8 columns: MLX 8l..8l+7, Q4_0 a block's 4j..4j+3 and 16+4j..16+4j+3) whose largest
    /// |x| is 127, so d = 1 and every x = N / 2^16 is held exactly: N at the ends of its range
    /// (±127 * 2^16) and with digits of -128 and 127 (0x8080, 0x7F7F, -0x7F80, ...). A
    /// wrong digit split (a byte read unsigned, a carry lost) moves a result by at least 2^-16 of a
    /// weight, far above the f32 rounding allowed here.
    @Test(arguments: [WeightFormat.mlxAffine(bits: 4, groupSize: 32, scaleType: .f32), .q4_0])
    func limbDigitsAtTheirEnds(format: WeightFormat) throws {
        var rng = SplitMix(seed: 37)
        let units: [Int32] = [127 << 16, -(127 << 16), 0x8080, -0x8080, 0x7F7F, -0x7F7F, 0x80, -0x80, 0x7F80, -0x7F80,
                              0x7E_FF7F, -0x7E_FF7F, 0x7E_8080, -0x7E_8080, 1, -1, 0xFF, 0x100, -0xFF, -0x100]
        for cols in [256, 96, 160] {
            let rows = 7
            let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng, centered: false)
            let x: [Float] = (0..<cols).map { (c: Int) -> Float in
                if c % 4 == 0 { return c % 8 == 0 ? 127 : -127 }                    // each lane's max (both layouts)
                return Float(units[(c * 7 + c / 8) % units.count]) * 0x1p-16
            }
            let reference = try product(t.matrix, x, path: .scalar)
            let scale = try magnitudes(t.matrix, x)
            for path in [KernelPath.best] + simdPaths {
                let fast = try product(t.matrix, x, path: path)
                for r in 0..<rows {
                    #expect(abs(Double(fast[r]) - Double(reference[r])) <= 1e-6 * scale[r],
                            "\(format) \(path) [\(rows)x\(cols)] row \(r): \(fast[r]) vs \(reference[r])")
                }
            }
        }
    }

    /// An infinity or NaN in x makes every row's result non-finite on every path (no path turns it
    /// into a finite number).
    @Test(arguments: [WeightFormat.mlxAffine(bits: 4, groupSize: 64, scaleType: .f16), .q4_0])
    func nonFiniteActivationsStayNonFinite(format: WeightFormat) throws {
        var rng = SplitMix(seed: 41)
        let rows = 5, cols = 320
        let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng, centered: false)
        for bad in [Float.infinity, -Float.infinity, Float.nan] {
            var x = (0..<cols).map { _ in rng.float() }
            x[133] = bad
            for path in [KernelPath.scalar, .best] + simdPaths {
                let y = try product(t.matrix, x, path: path)
                #expect(y.allSatisfy { !$0.isFinite }, "\(format) \(path) with \(bad) at column 133: \(y)")
            }
        }
    }
}
