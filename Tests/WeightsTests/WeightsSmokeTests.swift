import Testing
@testable import Weights
