import ArgumentParser
import AudioIO
import Engine
import Foundation
import MoshiNumerics

/// `moshi run`: the whole pipeline offline, like the reference's `run_inference.py`: a WAV of
/// the user in, the model's reply WAV out (aligned with the input) and its transcript.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Offline conversation: the user's audio file in, the model's reply WAV and transcript out.",
        discussion: """
            Feeds the input frame by frame (80 ms, 24 kHz mono; other rates and channel counts are \
            converted) through Mimi, the language model and Mimi's decoder, exactly as a live \
            conversation would. The reply is aligned with the input: sample i of the output is what \
            the model said while the user said sample i (the first 80 ms are silence: the model \
            answers frame n with frame n, from frame 1 on). Prints the transcript when a tokenizer \
            is available. Try it without weights: moshi run --synthetic talk.wav -o reply.wav
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var modelOptions: ModelOptions

    @Argument(help: ArgumentHelp("The user's audio (WAV or Ogg Opus).", valueName: "input"))
    var input: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The model's reply (.wav).", valueName: "out.wav"))
    var output: String

    @Option(help: ArgumentHelp("Also write the transcript to this file.", valueName: "path"))
    var transcript: String?

    @Flag(help: "Write a stereo file instead: left the user, right the model.")
    var stereo = false

    func run() throws {
        let settings = try global.loadSettings()
        let samples = try AudioFile.readMono24k(input)
        let frameSize = FrameTiming.samplesPerFrame
        let frames = (samples.count + frameSize - 1) / frameSize
        guard frames >= 1 else { throw ValidationError("\(input) holds no audio") }
        let log = { (line: String) in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let loaded = try LoadedModel(options: modelOptions, settings: settings, progress: log)
        let session = try loaded.session()
        let textDecoder = loaded.textDecoder()
        log("memory: \(session.generator.model.memorySummary)")
        var padded = samples
        padded += [Float](repeating: 0, count: frames * frameSize - samples.count)
        var reply = [Float](repeating: 0, count: frames * frameSize)
        var stages = [UInt64](repeating: 0, count: session.stageNames.count)
        var text = ""
        let start = Date()
        for f in 0..<frames {
            let result = padded.withUnsafeBufferPointer { input in
                reply.withUnsafeMutableBufferPointer { out in
                    stages.withUnsafeMutableBufferPointer { stageTimes in
                        session.process(input.baseAddress! + f * frameSize, output: out.baseAddress! + f * frameSize,
                                        stageNanoseconds: stageTimes.baseAddress!)
                    }
                }
            }
            if let token = result.textToken {
                let piece = textDecoder?.decode(token) ?? ""
                text += piece
                if !piece.isEmpty { FileHandle.standardOutput.write(Data(piece.utf8)) }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        if textDecoder != nil { print("") }
        reply.removeLast(reply.count - samples.count)
        if stereo {
            var interleaved = [Float](repeating: 0, count: 2 * samples.count)
            for i in 0..<samples.count {
                interleaved[2 * i] = samples[i]
                interleaved[2 * i + 1] = reply[i]
            }
            try AudioFile.write(output, samples: interleaved, sampleRate: FrameTiming.sampleRate, channelCount: 2)
        } else {
            try AudioFile.write(output, samples: reply, sampleRate: FrameTiming.sampleRate)
        }
        if let transcript { try text.write(toFile: transcript, atomically: true, encoding: .utf8) }
        let audioSeconds = Double(samples.count) / Double(FrameTiming.sampleRate)
        log(String(format: "%d frames (%.1f s of audio) in %.1f s: real-time factor %.2f; reply written to %@",
                   frames, audioSeconds, seconds, seconds / max(audioSeconds, 1e-9), output))
        if session.decodeErrors > 0 { log("warning: \(session.decodeErrors) frame(s) had codes Mimi refused; they are silence") }
    }
}
