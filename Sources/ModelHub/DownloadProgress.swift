import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reports download progress: on a terminal, one line redrawn in place with a bar, bytes, speed and
/// time left; otherwise (a log, a pipe) a plain line every `interval` seconds and one per finished file.
///
/// Called from the thread running the download only, one file at a time.
package final class DownloadProgress: @unchecked Sendable {
    private let write: (String) -> Void
    private let interactive: Bool
    private let interval: TimeInterval
    private let now: () -> TimeInterval
    private let lock = NSLock()

    private var file = ""
    private var total: Int64?
    private var startBytes: Int64 = 0
    private var bytes: Int64 = 0
    private var startTime: TimeInterval = 0
    private var lastReport: TimeInterval = 0

    /// A reporter writing to `write`. `interactive` redraws one line (for a terminal); `now` is the
    /// clock in seconds (injectable for tests).
    package init(interactive: Bool, interval: TimeInterval = 10, now: @escaping () -> TimeInterval = { ProcessInfo.processInfo.systemUptime },
                write: @escaping (String) -> Void) {
        self.interactive = interactive
        self.interval = interval
        self.now = now
        self.write = write
    }

    /// Progress on standard error, redrawn in place when it is a terminal.
    package static func standardError() -> DownloadProgress {
        DownloadProgress(interactive: isatty(STDERR_FILENO) != 0) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    /// A file starts (or resumes at `resumedFrom` bytes); `total` is its size when known.
    package func begin(file: String, total: Int64?, resumedFrom: Int64 = 0) {
        lock.withLock {
            self.file = file
            self.total = total
            startBytes = resumedFrom
            bytes = resumedFrom
            startTime = now()
            lastReport = startTime
            if !interactive {
                let size = total.map { " (\(Self.formatBytes($0)))" } ?? ""
                let resumed = resumedFrom > 0 ? ", resuming at \(Self.formatBytes(resumedFrom))" : ""
                write("downloading \(file)\(size)\(resumed)\n")
            }
        }
    }

    /// The download restarted from zero (the server ignored the range).
    package func restart() {
        lock.withLock {
            startBytes = 0
            bytes = 0
            startTime = now()
        }
    }

    /// `count` more bytes arrived.
    package func advance(by count: Int) {
        lock.withLock {
            bytes += Int64(count)
            let time = now()
            let due = interactive ? 0.2 : interval
            guard time - lastReport >= due else { return }
            lastReport = time
            write(interactive ? "\r" + statusLine(at: time) + "\u{1B}[K" : statusLine(at: time) + "\n")
        }
    }

    /// The file is complete.
    package func end() {
        lock.withLock {
            let elapsed = max(now() - startTime, 1e-9)
            let fetched = bytes - startBytes
            let summary = "\(file): \(Self.formatBytes(bytes)) done in \(Self.formatDuration(elapsed)) (\(Self.formatRate(Double(fetched) / elapsed)))"
            write(interactive ? "\r" + summary + "\u{1B}[K\n" : summary + "\n")
        }
    }

    /// A file that was already in the cache.
    package func skipped(file: String, size: Int64?) {
        lock.withLock {
            write("\(file): already in the cache\(size.map { " (\(Self.formatBytes($0)))" } ?? "")\n")
        }
    }

    /// "NAME [=====>    ] 1.23 GB / 15.40 GB  45.6 MB/s  ETA 5m12s"; without a known size, bytes and speed only.
    func statusLine(at time: TimeInterval) -> String {
        let elapsed = max(time - startTime, 1e-9)
        let rate = Double(bytes - startBytes) / elapsed
        guard let total, total > 0 else {
            return "\(file) \(Self.formatBytes(bytes))  \(Self.formatRate(rate))"
        }
        let fraction = min(max(Double(bytes) / Double(total), 0), 1)
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" + String(repeating: " ", count: width - filled - 1) : "")
        let eta = rate > 0 ? Self.formatDuration(Double(total - bytes) / rate) : "?"
        return "\(file) [\(bar)] \(Self.formatBytes(bytes)) / \(Self.formatBytes(total)) \(Int(fraction * 100))%  \(Self.formatRate(rate))  ETA \(eta)"
    }

    // MARK: Formatting

    /// Decimal units, as Hugging Face lists sizes: "512 B", "1.50 kB", "385.00 MB", "15.40 GB".
    package static func formatBytes(_ count: Int64) -> String {
        let units = ["kB", "MB", "GB", "TB"]
        guard count >= 1000 else { return "\(count) B" }
        var value = Double(count)
        var unit = -1
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return String(format: "%.2f", value) + " " + units[unit]
    }

    /// Bytes per second as "45.6 MB/s".
    package static func formatRate(_ bytesPerSecond: Double) -> String {
        guard bytesPerSecond.isFinite, bytesPerSecond >= 0 else { return "? MB/s" }
        return String(format: "%.1f MB/s", bytesPerSecond / 1e6)
    }

    /// "42s", "5m12s", "2h03m".
    package static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e7 else { return "?" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total / 3600)h\(String(format: "%02d", (total % 3600) / 60))m"
    }
}
