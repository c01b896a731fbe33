import ArgumentParser

/// `moshi codec`: Mimi on files: audio to codes, codes to audio, and both in one go.
struct CodecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Encode audio to Mimi codes, decode codes to audio, or round-trip a file.",
        discussion: """
            Audio files are WAV (any rate, any channel count; also .ogg/.opus): they are averaged to mono \
            and resampled to 24 kHz with speexdsp (24 kHz mono input is used sample-exact), padded with \
            zeros to a whole number of 1920-sample frames, and run through Mimi frame by frame, as the \
            server streams them. Codes are NumPy .npy files of int32 [codebooks, frames].
            """,
        subcommands: [CodecEncodeCommand.self, CodecDecodeCommand.self, CodecRoundtripCommand.self]
    )
}
