#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What a session's compute queue hands its connection, without allocating per frame: a
/// preallocated single-producer single-consumer ring of fixed slots (kind, bytes, arrival time,
/// text token), a counter of consumed inputs, and one pre-built wake-up closure that the
/// producer posts to the event loop only when the loop is not already due to drain.
///
/// Producer: the compute queue (`post`, `consumedOne`). Consumer: the connection's event loop
/// (`drain`). A full ring makes the producer wait for the consumer (the event loop never waits
/// for compute), unless the consumer has gone (`abandon`), in which case posts are dropped.
final class PipelineOutbox: @unchecked Sendable {
    enum Kind: UInt8 {
        case ready, audio, token, metadata, failed, finished
    }

    struct Entry {
        var kind: Kind = .ready
        var length = 0
        var arrivedAt: UInt64 = 0
        var token: Int32 = 0
    }

    let capacity: Int
    let slotBytes: Int
    private let entries: UnsafeMutablePointer<Entry>
    private let bytes: UnsafeMutableRawPointer
    private let produced = Atomic<Int>(0)
    private let taken = Atomic<Int>(0)
    private let consumedInputs = Atomic<Int>(0)
    private let wakePending = Atomic<Bool>(false)
    private let abandoned = Atomic<Bool>(false)
    /// Posts the drain to the event loop; set once before the first post.
    var wake: @Sendable () -> Void = {}

    init(capacity: Int = 32, slotBytes: Int = 4096) {
        self.capacity = capacity
        self.slotBytes = slotBytes
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: Entry(), count: capacity)
        bytes = .allocate(byteCount: capacity * slotBytes, alignment: 16)
    }

    deinit {
        entries.deallocate()
        bytes.deallocate()
    }

    // MARK: Producer (compute queue)

    /// Queues one entry; `payload` longer than a slot is cut to the slot.
    func post(_ kind: Kind, _ payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
              arrivedAt: UInt64 = 0, token: Int32 = 0) {
        let index = produced.load(ordering: .relaxed)
        while index - taken.load(ordering: .acquiring) >= capacity {
            if abandoned.load(ordering: .relaxed) { return }
            scheduleWake()
            usleep(100)
        }
        let slot = index % capacity
        let length = min(payload.count, slotBytes)
        if length > 0 { (bytes + slot * slotBytes).copyMemory(from: payload.baseAddress!, byteCount: length) }
        entries[slot] = Entry(kind: kind, length: length, arrivedAt: arrivedAt, token: token)
        produced.store(index + 1, ordering: .sequentiallyConsistent)
        scheduleWake()
    }

    /// Queues an entry whose payload is `text`'s UTF-8 (rare events: metadata, failures).
    func post(_ kind: Kind, text: String) {
        var text = text
        text.withUTF8 { post(kind, UnsafeRawBufferPointer($0)) }
    }

    /// One input (`push` or `concealMissingFrame`) was handled.
    func consumedOne() {
        consumedInputs.add(1, ordering: .sequentiallyConsistent)
        scheduleWake()
    }

    private func scheduleWake() {
        // Sequentially consistent with `drain`'s store and loads: an entry posted while a drain
        // runs is either seen by it or wakes another.
        if !wakePending.exchange(true, ordering: .sequentiallyConsistent) { wake() }
    }

    // MARK: Consumer (event loop)

    /// Hands every queued entry to `body` in order (its bytes valid during the call) and
    /// returns how many inputs were consumed since the last drain.
    func drain(_ body: (Entry, UnsafeRawBufferPointer) -> Void) -> Int {
        wakePending.store(false, ordering: .sequentiallyConsistent)
        let consumed = consumedInputs.exchange(0, ordering: .sequentiallyConsistent)
        var index = taken.load(ordering: .relaxed)
        let end = produced.load(ordering: .sequentiallyConsistent)
        while index < end {
            let slot = index % capacity
            let entry = entries[slot]
            body(entry, UnsafeRawBufferPointer(start: bytes + slot * slotBytes, count: entry.length))
            index += 1
            taken.store(index, ordering: .releasing)
            if abandoned.load(ordering: .relaxed) { break }
        }
        return consumed
    }

    /// The connection is gone: a waiting producer stops waiting, later posts are dropped.
    func abandon() { abandoned.store(true, ordering: .relaxed) }
}
