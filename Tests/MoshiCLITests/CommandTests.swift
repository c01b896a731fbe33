import Testing
@testable import MoshiCLI

@Suite struct CommandTests {
    @Test func rootCommandNameIsMoshi() {
        #expect(MoshiCommand.configuration.commandName == "moshi")
    }
}

@Suite struct ServeTLSOptionTests {
    @Test func tlsFlagsMustGoTogether() {
        for arguments in [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"], ["--tls-self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem"]] {
            #expect(throws: (any Error).self, "\(arguments)") { _ = try MoshiCommand.parseAsRoot(["serve"] + arguments) }
        }
        #expect((try? MoshiCommand.parseAsRoot(["serve", "--tls-self-signed"])) != nil)
        #expect((try? MoshiCommand.parseAsRoot(["serve", "--tls-cert", "c.pem", "--tls-key", "k.pem"])) != nil)
    }
}
