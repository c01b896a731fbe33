/// How the generator picks tokens from logits: temperature and top-k for the text stream and
/// for the audio codebooks. A temperature of 0 (or less) means greedy: the first largest logit.
public struct LMSampling: Sendable, Equatable {
    public var textTemperature: Float
    public var textTopK: Int
    public var audioTemperature: Float
    public var audioTopK: Int

    public init(textTemperature: Float, textTopK: Int, audioTemperature: Float, audioTopK: Int) {
        self.textTemperature = textTemperature
        self.textTopK = textTopK
        self.audioTemperature = audioTemperature
        self.audioTopK = audioTopK
    }

    /// The reference `LMGen`'s defaults: text 0.7 / top-25, audio 0.8 / top-250.
    public static let referenceDefaults = LMSampling(textTemperature: 0.7, textTopK: 25, audioTemperature: 0.8, audioTopK: 250)

    /// Argmax everywhere (deterministic; what the parity tests compare).
    public static let greedy = LMSampling(textTemperature: 0, textTopK: 0, audioTemperature: 0, audioTopK: 0)

    public var isGreedy: Bool { textTemperature <= 0 && audioTemperature <= 0 }
}
