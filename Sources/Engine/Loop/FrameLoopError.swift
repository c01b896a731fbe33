/// Why a `FrameLoop` could not run.
package enum FrameLoopError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `run` was called a second time; a loop runs once.
    case alreadyRun
    /// The configuration cannot work.
    case invalidConfiguration(String)

    package var description: String {
        switch self {
        case .alreadyRun: "a frame loop runs once; make a new one"
        case .invalidConfiguration(let message): "invalid frame loop configuration: \(message)"
        }
    }
}
