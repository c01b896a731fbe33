/// How the generator picks tokens from logits: temperature and top-k for the text stream and
/// for the audio codebooks. A temperature of 0 (or less) means greedy: the first largest logit.
package struct LMSampling: Sendable, Equatable {
    package var textTemperature: Float
    package var textTopK: Int
    package var audioTemperature: Float
    package var audioTopK: Int

    package init(textTemperature: Float, textTopK: Int, audioTemperature: Float, audioTopK: Int) {
        self.textTemperature = textTemperature
        self.textTopK = textTopK
        self.audioTemperature = audioTemperature
        self.audioTopK = audioTopK
    }

    /// The reference `LMGen`'s defaults: text 0.7 / top-25, audio 0.8 / top-250.
    package static let referenceDefaults = LMSampling(textTemperature: 0.7, textTopK: 25, audioTemperature: 0.8, audioTopK: 250)

    /// Argmax everywhere (deterministic; what the parity tests compare).
    package static let greedy = LMSampling(textTemperature: 0, textTopK: 0, audioTemperature: 0, audioTopK: 0)

    package var isGreedy: Bool { textTemperature <= 0 && audioTemperature <= 0 }
}
