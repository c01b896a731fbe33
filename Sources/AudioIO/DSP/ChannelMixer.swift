/// Mixes interleaved multichannel audio down to mono by averaging the channels.
package enum ChannelMixer {
    /// Averages each frame of `interleaved` (`channelCount` channels) into `mono`, which must
    /// hold `interleaved.count / channelCount` samples. Allocates nothing.
    package static func downmix(_ interleaved: UnsafeBufferPointer<Float>, channelCount: Int, into mono: UnsafeMutableBufferPointer<Float>) {
        precondition(channelCount > 0 && mono.count >= interleaved.count / channelCount, "downmix: output too small")
        let frames = interleaved.count / channelCount
        if channelCount == 1 {
            for i in 0..<frames { mono[i] = interleaved[i] }
            return
        }
        let scale = 1 / Float(channelCount)
        for frame in 0..<frames {
            var sum: Float = 0
            for channel in 0..<channelCount { sum += interleaved[frame * channelCount + channel] }
            mono[frame] = sum * scale
        }
    }

    /// Averages the channels of an interleaved signal into a new mono array.
    package static func downmix(_ interleaved: [Float], channelCount: Int) -> [Float] {
        if channelCount <= 1 { return interleaved }
        let frames = interleaved.count / channelCount
        return [Float](unsafeUninitializedCapacity: frames) { mono, initialized in
            interleaved.withUnsafeBufferPointer { downmix($0, channelCount: channelCount, into: mono) }
            initialized = frames
        }
    }
}
