/// Transposes a row-major `[rows, columns]` matrix into `[columns, rows]`:
/// `y[c * rows + r] = x[r * columns + c]`. Converts Mimi's channel-major `[C, T]` activations to
/// the transformers' time-major `[T, C]` and back. Works in 32x32 tiles to stay in cache;
/// `y` must not overlap `x`. Allocates nothing.
package func transpose(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into y: UnsafeMutablePointer<Float>) {
    let tile = 32
    var r0 = 0
    while r0 < rows {
        let r1 = min(r0 + tile, rows)
        var c0 = 0
        while c0 < columns {
            let c1 = min(c0 + tile, columns)
            for r in r0..<r1 {
                let src = x + r * columns
                for c in c0..<c1 { y[c * rows + r] = src[c] }
            }
            c0 = c1
        }
        r0 = r1
    }
}
