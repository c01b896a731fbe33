/// What the frame loop runs once per 80 ms frame. The conversation (Mimi encode, LM step,
/// Mimi decode) is one; tests use simple ones. Called from one compute thread only.
package protocol FrameProcessor: AnyObject {
    /// The stages it times, in order, e.g. ["mimi_encode", "temporal", "depformer", "mimi_decode"].
    var stageNames: [String] { get }
    /// One frame: reads `FrameTiming.samplesPerFrame` samples from `input`; when it returns
    /// `producedAudio` it has written as many to `output`. Fills `stageNanoseconds[i]` with the time of stage i.
    /// Must not allocate, lock or do I/O.
    func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                 stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult
    /// Back to the start of a conversation.
    func reset()
}

/// What one `FrameProcessor.process` call gave back.
package struct FrameResult: Sendable, Equatable {
    package var producedAudio: Bool
    /// The text token the model emitted with this frame, if any (turned into text off the hot path).
    package var textToken: Int32?
    package init(producedAudio: Bool, textToken: Int32?) {
        self.producedAudio = producedAudio
        self.textToken = textToken
    }
}
