import Testing
@testable import ModelHub

@Test func moduleLinks() {
    #expect(String(describing: ModelHub.self) == "ModelHub")
}
