/// Turns the text tokens a `FrameProcessor` emits into text, away from the compute thread
/// (the frame loop calls it on the thread that runs `FrameLoop.run`). Streaming: a token may
/// give an empty string (a piece still incomplete) and a later one the whole piece.
package protocol TextTokenDecoder: AnyObject {
    /// The text that `token` adds ("" when nothing is printable yet).
    func decode(_ token: Int32) -> String
    /// Forget pending state, at the start of a conversation.
    func reset()
}

/// A `TextTokenDecoder` from a closure, for stateless vocabularies and tests.
package final class ClosureTextDecoder: TextTokenDecoder {
    private let body: (Int32) -> String

    package init(_ body: @escaping (Int32) -> String) { self.body = body }

    package func decode(_ token: Int32) -> String { body(token) }

    package func reset() {}
}
