import AudioIO
import Foundation
import Synchronization

/// Records a conversation as a stereo WAV file (24 kHz, 16-bit): left the user (every
/// captured frame, after echo cancellation), right the model (every frame sent to the sink,
/// silence included), frame i of each side together. For `moshi chat --record`.
///
/// The loop's capture and playback threads hand frames over through two preallocated rings
/// (`recordUser`, `recordModel`: a copy, no allocation, no lock); a writer thread of its own
/// pairs them by frame number and writes the file, so disk I/O never stalls the audio threads.
/// A frame that finds its ring full (the disk fell behind by more than `bufferFrames`) is
/// lost, counted in `lostFrames`, and recorded as silence.
package final class StereoRecorder: @unchecked Sendable {  // rings are SPSC; writer state is its thread's
    /// The file written.
    package let path: String
    private let user: FrameRing
    private let model: FrameRing
    private var userCount = 0      // capture thread
    private var modelCount = 0     // playback thread
    private let lost = Atomic<Int>(0)
    private let stopRequested = Atomic<Bool>(false)
    private let writerDone = DispatchSemaphore(value: 0)
    private var writer: WAVStreamWriter?
    private let interleaved: UnsafeMutablePointer<Float>
    private let silence: UnsafeMutablePointer<Float>
    private var failure: AudioSinkError?
    private var started = false

    /// A recorder for `path`; `bufferFrames` frames per side may wait for the disk.
    package init(path: String, bufferFrames: Int = 128) {
        self.path = path
        user = FrameRing(capacity: bufferFrames)
        model = FrameRing(capacity: bufferFrames)
        interleaved = .allocate(capacity: 2 * FrameTiming.samplesPerFrame)
        interleaved.initialize(repeating: 0, count: 2 * FrameTiming.samplesPerFrame)
        silence = .allocate(capacity: FrameTiming.samplesPerFrame)
        silence.initialize(repeating: 0, count: FrameTiming.samplesPerFrame)
    }

    deinit {
        interleaved.deallocate()
        silence.deallocate()
    }

    /// Frames lost because the disk fell behind.
    package var lostFrames: Int { lost.load(ordering: .relaxed) }

    /// Stereo frames (of 1920 samples per side) written; read after `finish`.
    package var framesWritten: Int { (writer?.framesWritten ?? 0) / FrameTiming.samplesPerFrame }

    /// Creates the file and starts the writer thread.
    package func start() throws {
        guard !started else { return }
        do { writer = try WAVStreamWriter(path: path, channelCount: 2) } catch { throw AudioSinkError(target: path, message: error.description) }
        started = true
        let thread = Thread { [self] in
            while !stopRequested.load(ordering: .acquiring) {
                writePairs(final: false)
                usleep(20_000)
            }
            writerDone.signal()
        }
        thread.name = "moshi-recorder"
        thread.start()
    }

    /// The user's frame, from the capture thread.
    package func recordUser(_ frame: UnsafePointer<Float>) {
        if !user.push(frame, index: userCount, firstTime: 0) { lost.add(1, ordering: .relaxed) }
        userCount += 1
    }

    /// The model's frame as sent to the sink, from the playback thread.
    package func recordModel(_ frame: UnsafePointer<Float>) {
        if !model.push(frame, index: modelCount, firstTime: 0) { lost.add(1, ordering: .relaxed) }
        modelCount += 1
    }

    /// Stops the writer, writes what is left (the shorter side padded with silence), closes
    /// the file. Call after the loop has ended. Throws the first write failure.
    package func finish() throws {
        guard started else { return }
        started = false
        stopRequested.store(true, ordering: .releasing)
        writerDone.wait()
        writePairs(final: true)
        if failure == nil {
            do { try writer?.close() } catch { failure = AudioSinkError(target: path, message: error.description) }
        }
        if let failure { throw failure }
    }

    /// Pairs frames by number: both sides present, or (at the end, or when one side skipped a
    /// number because its frame was lost) one side with silence on the other.
    private func writePairs(final: Bool) {
        while true {
            let haveUser = user.count > 0, haveModel = model.count > 0
            guard haveUser || haveModel else { return }
            guard final || (haveUser && haveModel) else { return }
            let userIndex = haveUser ? user.index() : Int.max
            let modelIndex = haveModel ? model.index() : Int.max
            let index = min(userIndex, modelIndex)
            let left: UnsafePointer<Float> = userIndex == index ? UnsafePointer(user.samples()) : UnsafePointer(silence)
            let right: UnsafePointer<Float> = modelIndex == index ? UnsafePointer(model.samples()) : UnsafePointer(silence)
            for i in 0..<FrameTiming.samplesPerFrame {
                interleaved[2 * i] = left[i]
                interleaved[2 * i + 1] = right[i]
            }
            if failure == nil, let writer {
                do { try writer.write(interleaved, frames: FrameTiming.samplesPerFrame) } catch { failure = AudioSinkError(target: path, message: error.description) }
            }
            if userIndex == index { user.pop() }
            if modelIndex == index { model.pop() }
        }
    }
}
