import ArgumentParser

/// `moshi`: the root command; every mode of the server is a subcommand.
package struct MoshiCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "moshi",
        abstract: "A Moshi-style full-duplex speech-dialogue server for Linux.",
        discussion: """
            Without weights: `moshi profile` runs the whole pipeline (Mimi, the language model, Mimi \
            again) on a built-in speech sample with the synthetic model and prints per-stage latency; \
            `--synthetic` gives every other mode the same model. With Kyutai's weights: `moshi download \
            kyutai/moshiko-mlx-q4`, then `moshi chat --hf-repo kyutai/moshiko-mlx-q4` (or \
            `--model-dir DIR`). Settings: `moshi config`; docs: Docs/ in the source tree.
            """,
        version: MoshiCommand.version,
        subcommands: [
            ProfileCommand.self, ChatCommand.self, ServeCommand.self, ClientCommand.self, RunCommand.self, LMCommand.self,
            CodecCommand.self, BenchCommand.self, DownloadCommand.self, InspectCommand.self, DevicesCommand.self, ConfigCommand.self,
        ]
    )
    package init() {}

    /// What `moshi --version` prints.
    package static let version = "0.1.0"
}
