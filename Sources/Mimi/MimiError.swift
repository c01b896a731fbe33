import Weights

/// Why a Mimi codec could not be built or fed: a configuration it cannot run, a weight file
/// without the tensors (or shapes) the configuration needs, or input of the wrong size.
package enum MimiError: Error, Equatable, CustomStringConvertible {
    /// The configuration is not one this implementation runs (the message says which number).
    case configuration(String)
    /// A tensor is missing or has the wrong shape or type; the error names the file and tensor.
    case weights(WeightFileError)
    /// A frame of codes given to the decoder has the wrong count or a value outside the codebook.
    case invalidCodes(String)

    package var description: String {
        switch self {
        case .configuration(let message): "Mimi configuration: \(message)"
        case .weights(let error): "Mimi weights: \(error)"
        case .invalidCodes(let message): "Mimi codes: \(message)"
        }
    }

    /// The tensor the problem is about, when there is one.
    package var tensor: String? {
        if case .weights(let error) = self { return error.tensor }
        return nil
    }
}
