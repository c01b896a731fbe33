import Engine

/// A frame processor whose input codec can be restarted on its own, keeping the rest of the
/// conversation (the language model's state, the output codec).
///
/// Kyutai's server (moshi/server.py, `skip_frames = 1`) encodes the first input frame of a
/// connection, steps the language model on its codes, then resets Mimi's streaming state, so
/// the second frame is encoded with the left padding of a stream's start again: the first
/// frame's codes are special (its convolutions see padding, not audio), and from the model's
/// point of view that frame is in the past. `ConversationPipeline` does the same after a
/// session's first frame (Docs/PROTOCOL.md, "The first frame").
package protocol InputEncoderResetting: AnyObject {
    /// Back to the start of the input stream (encoder state only).
    func resetInputEncoder()
}

extension ConversationSession: InputEncoderResetting {
    /// Mimi's encoder back to the start; the decoder has run at most one frame of silence's
    /// answer (the first frame yields no audio), so, as in the reference, only the encoder matters.
    package func resetInputEncoder() { encoder.reset() }
}
