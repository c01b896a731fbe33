import Foundation
import MoshiNumerics
import Testing
@testable import Mimi

/// `MimiBatch` against each stream stepped alone: three streams that started at different
/// frames (different transformer positions and cache contents), official shapes, random weights.
@Suite struct MimiBatchTests {
    static let weights: MimiWeights = {
        let config = MimiConfig.official(codebooks: 8)
        return try! MimiWeights(store: MimiRandomCheckpoint.make(config: config, seed: 11), config: config)
    }()

    static func frame(_ f: Int, voice: Int) -> [Float] {
        (0..<1920).map { 0.3 * Float(sin(Double(f * 1920 + $0) * (0.02 + 0.015 * Double(voice)))) }
    }

    @Test(arguments: [1, 2]) func streamsBatchedEqualEachAlone(threads: Int) throws {
        let pool = threads > 1 ? ThreadPool(threads: threads) : nil
        let w = Self.weights
        let streams = 3, frames = 4
        // Stream s joins at frame s: at frame f it encodes its frame f - s.
        let batched = (0..<streams).map { _ in (MimiEncoder(weights: w, pool: pool), MimiDecoder(weights: w, pool: pool)) }
        let alone = (0..<streams).map { _ in (MimiEncoder(weights: w, pool: pool), MimiDecoder(weights: w, pool: pool)) }
        let batch = MimiBatch(weights: w, capacity: streams)
        let encoders = UnsafeMutablePointer<Unmanaged<MimiEncoder>>.allocate(capacity: streams)
        let decoders = UnsafeMutablePointer<Unmanaged<MimiDecoder>>.allocate(capacity: streams)
        let inputs = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: streams)
        let codes = UnsafeMutablePointer<UnsafeMutablePointer<Int32>>.allocate(capacity: streams)
        let codesIn = UnsafeMutablePointer<UnsafePointer<Int32>>.allocate(capacity: streams)
        let outputs = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: streams)
        defer { encoders.deallocate(); decoders.deallocate(); inputs.deallocate(); codes.deallocate(); codesIn.deallocate(); outputs.deallocate() }
        let input = UnsafeMutablePointer<Float>.allocate(capacity: streams * 1920)
        let code = UnsafeMutablePointer<Int32>.allocate(capacity: streams * 8)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: streams * 1920)
        defer { input.deallocate(); code.deallocate(); output.deallocate() }
        var checked = 0
        for f in 0..<(frames + streams - 1) {
            let active = (0..<streams).filter { f - $0 >= 0 && f - $0 < frames }
            for (i, s) in active.enumerated() {
                Self.frame(f - s, voice: s).withUnsafeBufferPointer { (input + i * 1920).update(from: $0.baseAddress!, count: 1920) }
                encoders[i] = Unmanaged.passUnretained(batched[s].0)
                decoders[i] = Unmanaged.passUnretained(batched[s].1)
                inputs[i] = UnsafePointer(input + i * 1920)
                codes[i] = code + i * 8
                codesIn[i] = UnsafePointer(code + i * 8)
                outputs[i] = output + i * 1920
            }
            batch.encode(encoders, samples: inputs, codes: codes, count: active.count, pool: pool)
            batch.decode(decoders, codes: codesIn, samples: outputs, count: active.count, pool: pool)
            for (i, s) in active.enumerated() {
                let want = alone[s].0.step(Self.frame(f - s, voice: s))
                let wantAudio = try alone[s].1.step(want)
                #expect(Array(UnsafeBufferPointer(start: code + i * 8, count: 8)) == want, "stream \(s), frame \(f - s): codes")
                #expect(Array(UnsafeBufferPointer(start: output + i * 1920, count: 1920)) == wantAudio, "stream \(s), frame \(f - s): audio")
                checked += 1
            }
        }
        #expect(checked == streams * frames)
    }
}
