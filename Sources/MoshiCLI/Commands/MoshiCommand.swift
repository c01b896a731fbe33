import ArgumentParser

/// `moshi`: the root command; every mode of the server is a subcommand.
public struct MoshiCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "moshi",
        abstract: "A Moshi-style full-duplex speech-dialogue server for Linux.",
        subcommands: [
            InspectCommand.self, BenchCommand.self, DevicesCommand.self, ConfigCommand.self, CodecCommand.self,
            LMCommand.self, RunCommand.self, DownloadCommand.self, ServeCommand.self, ClientCommand.self,
        ]
    )
    public init() {}
}
