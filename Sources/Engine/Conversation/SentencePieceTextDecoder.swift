import MoshiLM

/// The model's text stream as text: SentencePiece pieces with PAD and EPAD skipped, `▁` as a
/// space, byte pieces joined into UTF-8 (`StreamingTextDecoder`).
package final class SentencePieceTextDecoder: TextTokenDecoder {
    private var decoder: StreamingTextDecoder

    package init(model: SentencePieceModel) { decoder = StreamingTextDecoder(model: model) }

    package func decode(_ token: Int32) -> String { decoder.push(Int(token)) }

    package func reset() { decoder.reset() }
}
