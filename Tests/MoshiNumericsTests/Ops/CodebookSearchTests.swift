import Testing
@testable import MoshiNumerics

@Suite struct CodebookSearchTests {
    func search(_ x: [Float], count: Int, codebook: [Float], entries: Int, dimension: Int) -> [Int32] {
        var norms = [Float](repeating: 0, count: entries)
        codebook.withUnsafeBufferPointer { codebookSquaredNorms($0.baseAddress!, entries: entries, dimension: dimension, into: &norms) }
        var scratch = [Float](repeating: .nan, count: count * entries)
        var codes = [Int32](repeating: -1, count: count)
        nearestCodebookEntries(x, count: count, codebook: codebook, squaredNorms: norms, entries: entries,
                               dimension: dimension, scratch: &scratch, codes: &codes)
        return codes
    }

    func exactDistances(_ x: ArraySlice<Float>, _ codebook: [Float], entries: Int, dimension: Int) -> [Double] {
        let xs = Array(x)
        return (0..<entries).map { n in
            var sum = 0.0
            for d in 0..<dimension {
                let diff = Double(xs[d]) - Double(codebook[n * dimension + d])
                sum += diff * diff
            }
            return sum
        }
    }

    @Test func findsTheNearestEntryOnRandomCodebooks() {
        var data = TestData(seed: 60)
        var agreements = 0, total = 0
        for (entries, dimension, count) in [(64, 8, 1), (300, 16, 7), (2048, 256, 1), (2048, 256, 5), (33, 3, 40)] {
            let codebook = data.normals(entries * dimension)
            let x = data.normals(count * dimension)
            let codes = search(x, count: count, codebook: codebook, entries: entries, dimension: dimension)
            for t in 0..<count {
                let d = exactDistances(x[(t * dimension)..<((t + 1) * dimension)], codebook, entries: entries, dimension: dimension)
                let best = d.indices.min { d[$0] < d[$1] }!
                #expect(codes[t] >= 0 && Int(codes[t]) < entries)
                // Always (near-)optimal; identical to the exact argmin unless a float32 near-tie decides otherwise.
                #expect(d[Int(codes[t])] <= d[best] * (1 + 1e-5) + 1e-6)
                if Int(codes[t]) == best { agreements += 1 }
                total += 1
            }
        }
        #expect(agreements == total)
    }

    @Test func tiesGoToTheLowestIndexAndExactHitsWin() {
        // Entries 1 and 3 are equal and both nearest to x; entry 2 is x itself for the second query.
        let codebook: [Float] = [5, 5, 1, 0, 9, 9, 1, 0, -4, 2]
        let x: [Float] = [1, 0.5, 9, 9]
        let codes = search(x, count: 2, codebook: codebook, entries: 5, dimension: 2)
        #expect(codes == [1, 2])
        // The single-vector path (sgemv) agrees with the batched one (sgemm).
        #expect(search([1, 0.5], count: 1, codebook: codebook, entries: 5, dimension: 2) == [1])
        #expect(search([9, 9], count: 1, codebook: codebook, entries: 5, dimension: 2) == [2])
    }

    @Test func squaredNormsAreExactForSmallIntegers() {
        var norms: [Float] = [0, 0]
        codebookSquaredNorms([1, 2, 2, 3, 4, 0], entries: 2, dimension: 3, into: &norms)
        #expect(norms == [9, 25])
    }
}
