import ArgumentParser

/// `moshi`: the root command; every mode of the server is a subcommand.
public struct MoshiCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "moshi",
        abstract: "A Moshi-style full-duplex speech-dialogue server for Linux.",
        subcommands: [
            ProfileCommand.self, ChatCommand.self, ServeCommand.self, ClientCommand.self, RunCommand.self, LMCommand.self,
            CodecCommand.self, BenchCommand.self, DownloadCommand.self, InspectCommand.self, DevicesCommand.self, ConfigCommand.self,
        ]
    )
    public init() {}
}
