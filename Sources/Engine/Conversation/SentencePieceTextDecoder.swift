import MoshiLM

/// The model's text stream as text: SentencePiece pieces with PAD and EPAD skipped, `▁` as a
/// space, byte pieces joined into UTF-8 (`StreamingTextDecoder`).
public final class SentencePieceTextDecoder: TextTokenDecoder {
    private var decoder: StreamingTextDecoder

    public init(model: SentencePieceModel) { decoder = StreamingTextDecoder(model: model) }

    public func decode(_ token: Int32) -> String { decoder.push(Int(token)) }

    public func reset() { decoder.reset() }
}
