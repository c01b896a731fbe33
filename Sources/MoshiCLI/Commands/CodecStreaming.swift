import ArgumentParser
import AudioIO
import Foundation
import Mimi

/// The file-level work of `moshi codec`: whole signals through a streaming encoder or
/// decoder, one 1920-sample frame per step.
enum CodecStreaming {
    /// Reads `path` as 24 kHz mono (`AudioFile.readMono24k`: channels averaged, speexdsp
    /// resampling unless it is already 24 kHz).
    static func readAudio(_ path: String) throws -> [Float] {
        do {
            return try AudioFile.readMono24k(path)
        } catch {
            let message = "\(error)"
            throw CodecError(message.hasPrefix(path) ? message : "\(path): \(message)")
        }
    }

    /// Encodes `audio`, zero-padded at the end to whole frames, into `[codebooks, frames]` codes.
    static func encode(_ audio: [Float], encoder: MimiEncoder) -> MimiCodes {
        let frameSize = encoder.frameSize
        let frames = (audio.count + frameSize - 1) / frameSize
        var padded = audio
        padded += [Float](repeating: 0, count: frames * frameSize - audio.count)
        var list: [[Int32]] = []
        list.reserveCapacity(frames)
        for f in 0..<frames {
            list.append(encoder.step(Array(padded[(f * frameSize)..<((f + 1) * frameSize)])))
        }
        return MimiCodes(frames: list, codebooks: encoder.codebooks)
    }

    /// Decodes every frame of `codes` into 24 kHz mono audio (`frames * 1920` samples).
    static func decode(_ codes: MimiCodes, decoder: MimiDecoder) throws -> [Float] {
        var audio: [Float] = []
        audio.reserveCapacity(codes.frames * decoder.frameSize)
        for f in 0..<codes.frames {
            do {
                audio += try decoder.step(codes.frame(f))
            } catch {
                throw CodecError("frame \(f): \(error)")
            }
        }
        return audio
    }

    /// Writes 24 kHz mono `audio` as WAV (16-bit or 32-bit float).
    /// Writes 24 kHz mono audio in the format `path`'s extension names: WAV (`.wav`, in
    /// `format`) or Ogg Opus (`.ogg`, `.opus`).
    static func writeAudio(_ audio: [Float], to path: String, format: CodecSampleFormat) throws {
        do {
            switch try AudioFileKind(path: path) {
            case .wav:
                try WAVFile(samples: audio, sampleRate: AudioFile.modelSampleRate, channelCount: 1)
                    .write(to: path, as: format == .f32 ? .float32 : .pcm16)
            case .oggOpus:
                try AudioFile.write(path, samples: audio, sampleRate: AudioFile.modelSampleRate)
            }
        } catch {
            throw CodecError("\(error)")
        }
    }

    /// Refuses an output path whose extension names no format we write (before any work is done).
    static func checkOutputExtension(_ path: String) throws {
        do { _ = try AudioFileKind(path: path) } catch { throw ValidationError("-o \(path): \(error)") }
    }
}

/// A `moshi codec` failure, printed as one line.
struct CodecError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
