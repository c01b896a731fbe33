/// A sequence of Mimi code frames as a `[codebooks, frames]` matrix, the layout of the
/// reference's `MimiModel.encode` output (batch dropped), with NumPy `.npy` serialisation
/// (`moshi codec encode` writes int32, `moshi codec decode` reads any integer type).
package struct MimiCodes: Sendable, Equatable {
    package let codebooks: Int
    package private(set) var frames: Int
    /// Row-major `[codebooks, frames]`: `values[k * frames + f]` is codebook k of frame f.
    package private(set) var values: [Int32]

    /// An empty matrix of `codebooks` rows.
    package init(codebooks: Int) {
        precondition(codebooks > 0, "MimiCodes needs at least one codebook")
        self.codebooks = codebooks
        frames = 0
        values = []
    }

    /// `values` row-major `[codebooks, frames]`.
    package init(codebooks: Int, frames: Int, values: [Int32]) {
        precondition(codebooks > 0 && frames >= 0 && values.count == codebooks * frames, "MimiCodes shape mismatch")
        self.codebooks = codebooks
        self.frames = frames
        self.values = values
    }

    /// Codes of frame `f`, codebook 0 first.
    package func frame(_ f: Int) -> [Int32] { (0..<codebooks).map { values[$0 * frames + f] } }

    /// Appends one frame (`codebooks` codes). Rebuilds the matrix: for files, not the hot path.
    package mutating func append(frame codes: [Int32]) {
        precondition(codes.count == codebooks, "a frame has \(codebooks) codes, got \(codes.count)")
        var out = [Int32]()
        out.reserveCapacity(codebooks * (frames + 1))
        for k in 0..<codebooks {
            out += values[(k * frames)..<((k + 1) * frames)]
            out.append(codes[k])
        }
        values = out
        frames += 1
    }

    /// Builds the matrix from frames (each `codebooks` codes).
    package init(frames list: [[Int32]], codebooks: Int) {
        precondition(list.allSatisfy { $0.count == codebooks }, "every frame needs \(codebooks) codes")
        var values = [Int32](repeating: 0, count: codebooks * list.count)
        for (f, frame) in list.enumerated() {
            for k in 0..<codebooks { values[k * list.count + f] = frame[k] }
        }
        self.init(codebooks: codebooks, frames: list.count, values: values)
    }
}
