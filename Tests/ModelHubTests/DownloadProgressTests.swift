import Foundation
import Testing
@testable import ModelHub

/// Progress lines and the number formats they use; a fake clock makes them exact.
@Suite struct DownloadProgressTests {
    final class Clock: @unchecked Sendable {
        var time: TimeInterval = 100
    }

    @Test func formatsBytesRatesAndDurations() {
        #expect(DownloadProgress.formatBytes(0) == "0 B")
        #expect(DownloadProgress.formatBytes(999) == "999 B")
        #expect(DownloadProgress.formatBytes(1_500) == "1.50 kB")
        #expect(DownloadProgress.formatBytes(385_000_000) == "385.00 MB")
        #expect(DownloadProgress.formatBytes(15_400_000_000) == "15.40 GB")
        #expect(DownloadProgress.formatRate(45_600_000) == "45.6 MB/s")
        #expect(DownloadProgress.formatDuration(42) == "42s")
        #expect(DownloadProgress.formatDuration(312) == "5m12s")
        #expect(DownloadProgress.formatDuration(7_380) == "2h03m")
        #expect(DownloadProgress.formatDuration(.infinity) == "?")
    }

    @Test func plainOutputPrintsALineEachInterval() {
        let clock = Clock()
        var lines: [String] = []
        let progress = DownloadProgress(interactive: false, interval: 10, now: { clock.time }) { lines.append($0) }
        progress.begin(file: "model.safetensors", total: 100_000_000, resumedFrom: 20_000_000)
        clock.time += 5
        progress.advance(by: 10_000_000)  // not yet due
        clock.time += 5
        progress.advance(by: 10_000_000)  // 10 s: 20 MB in 10 s, 60 MB left
        clock.time += 10
        progress.end()
        #expect(lines == [
            "downloading model.safetensors (100.00 MB), resuming at 20.00 MB\n",
            "model.safetensors [=========>              ] 40.00 MB / 100.00 MB 40%  2.0 MB/s  ETA 30s\n",
            "model.safetensors: 40.00 MB done in 20s (1.0 MB/s)\n",
        ])
    }

    @Test func terminalOutputRedrawsOneLine() {
        let clock = Clock()
        var lines: [String] = []
        let progress = DownloadProgress(interactive: true, now: { clock.time }) { lines.append($0) }
        progress.begin(file: "f", total: nil)
        clock.time += 1
        progress.advance(by: 3_000_000)
        clock.time += 1
        progress.end()
        #expect(lines == ["\rf 3.00 MB  3.0 MB/s\u{1B}[K", "\rf: 3.00 MB done in 2s (1.5 MB/s)\u{1B}[K\n"])
        lines.removeAll()
        progress.skipped(file: "g", size: 1_000)
        #expect(lines == ["g: already in the cache (1.00 kB)\n"])
    }

    @Test func includePatternsMatchLikeHuggingFaceHub() {
        let files = ["model.q4.safetensors", "model.safetensors", "tokenizer_spm_32k_3.model", "docs/a/b.md", "README.md"]
        #expect(FilePattern.select(files, including: []) == files)
        #expect(FilePattern.select(files, including: [FilePattern("model.q4*")]) == ["model.q4.safetensors"])
        #expect(FilePattern.select(files, including: [FilePattern("*.safetensors")]) == ["model.q4.safetensors", "model.safetensors"])
        #expect(FilePattern.select(files, including: [FilePattern("docs/")]) == ["docs/a/b.md"])
        #expect(FilePattern.select(files, including: [FilePattern("*.md")]) == ["docs/a/b.md", "README.md"])
        #expect(FilePattern.select(files, including: [FilePattern("tokenizer_spm_32k_?.model"), FilePattern("README.[mM]d")])
            == ["tokenizer_spm_32k_3.model", "README.md"])
    }
}
