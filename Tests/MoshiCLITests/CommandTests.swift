import Testing
@testable import MoshiCLI

@Suite struct CommandTests {
    @Test func rootCommandNameIsMoshi() {
        #expect(MoshiCommand.configuration.commandName == "moshi")
    }
}
