import Testing
@testable import Numerics

@Suite struct CPUFeaturesTests {
    @Test func describesTheMachine() {
        #expect(!CPUFeatures.current.description.isEmpty)
    }
}
