import Testing
@testable import MoshiLM

@Test func moshi7BPresetSizes() {
    let config = LMConfig.moshi7B
    #expect(config.dim == 4096)
    #expect(config.delays.count == 17)
}
