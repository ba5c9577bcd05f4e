import Crypto
import Foundation
import JSONCore
import Storage

/// The access trace (docs/architecture.md §Access trace): every access to
/// patient data appended to a hash chain, with periodic checkpoints signed
/// by a key the database does not hold.
///
/// `record` queues an entry and returns; a writer appends what is queued in
/// batches, one transaction each, in the order recorded. A request is not
/// held up by the trace's disk (measured: waiting for each entry to be
/// stored cost a third of the read throughput, BENCHMARKS.md), and the window
/// in which a crash can lose entries is the writer's, a few milliseconds.
/// When a batch cannot be written, `record` refuses from then on (the
/// caller answers 503) and the writer tries again every second, losing
/// nothing queued; past `queueLimit` queued entries, `record` waits.
public actor AccessTrace {
    public nonisolated let store: AccessTraceStore
    let key: Curve25519.Signing.PrivateKey
    /// A checkpoint at least every this many entries…
    let checkpointEntries: Int
    /// …and every this long while entries come.
    let checkpointInterval: Duration
    let clock = ContinuousClock()

    /// The chain's last place and hash, read at the first write.
    var head: (seq: Int64, hash: String)?
    var loaded = false
    var pending: [AccessEntry] = []
    var writing = false
    /// Why the last batch could not be written; nil while the trace writes.
    var failure: (any Error)?
    /// Those waiting for the queue to empty (`flush`, or `record` past the limit).
    var waiting: [CheckedContinuation<Void, Never>] = []
    let queueLimit = 10_000
    static let batchWindow: Duration = .milliseconds(5)
    var uncheckpointed = 0
    var lastCheckpoint: ContinuousClock.Instant

    /// The hash the first entry follows.
    public static let genesis = String(repeating: "0", count: 64)

    public init(store: AccessTraceStore, key: Curve25519.Signing.PrivateKey, checkpointEntries: Int = 1_000, checkpointInterval: Duration = .seconds(60)) {
        self.store = store
        self.key = key
        publicKey = key.publicKey.rawRepresentation.base64EncodedString()
        self.checkpointEntries = checkpointEntries
        self.checkpointInterval = checkpointInterval
        lastCheckpoint = clock.now
    }

    /// The public key checkpoints are verified with (raw, base64).
    public nonisolated let publicKey: String

    /// Queues an entry, stamped with the current time. Throws while the
    /// trace cannot be written: an access it cannot record is refused.
    public func record(_ entry: AccessEntry) async throws {
        if let failure { throw failure }
        var entry = entry
        entry.time = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
        pending.append(entry)
        if !writing {
            writing = true
            Task { await self.drain() }
        }
        if pending.count > queueLimit { await drained() }
    }

    /// Returns once every entry recorded so far is stored (or the trace has failed).
    public func flush() async throws {
        if writing || !pending.isEmpty { await drained() }
        if let failure { throw failure }
    }

    func drained() async {
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Signs the chain's head now (at shutdown, and in tests), if entries came since the last checkpoint.
    public func checkpoint() async throws {
        try await flush()
        writing = true
        defer {
            writing = false
            if pending.isEmpty {
                // Those who waited for the writer while the checkpoint was written.
                for waiter in waiting { waiter.resume() }
                waiting = []
            } else {
                // Entries recorded while the checkpoint was written are written now.
                writing = true
                Task { await self.drain() }
            }
        }
        try await loadHead()
        guard uncheckpointed > 0, let head else { return }
        try await store.append([], checkpoint: signed(head))
        uncheckpointed = 0
        lastCheckpoint = clock.now
    }

    /// Writes what is queued, batch after batch, until nothing is; after a
    /// failure, tries the same batch again every second.
    func drain() async {
        while !pending.isEmpty {
            // A few milliseconds more of entries per batch: each transaction
            // writes whole pages, and fewer, fuller batches write far fewer.
            if pending.count < 256 { try? await Task.sleep(for: Self.batchWindow) }
            let batch = pending
            pending = []
            do {
                try await write(batch)
                failure = nil
            } catch {
                failure = error
                pending = batch + pending
                for waiter in waiting { waiter.resume() }
                waiting = []
                try? await Task.sleep(for: .seconds(1))
            }
        }
        writing = false
        for waiter in waiting { waiter.resume() }
        waiting = []
    }

    /// One batch, chained on the head; when another process appended first,
    /// the head is read again and the batch chained anew.
    func write(_ entries: [AccessEntry]) async throws {
        for attempt in 1...5 {
            try await loadHead()
            var (seq, hash) = head ?? (0, Self.genesis)
            var rows: [AccessTraceRow] = []
            for entry in entries {
                seq += 1
                let text = entry.text(seq: seq)
                hash = Self.hash(previous: hash, entry: text)
                rows.append(
                    AccessTraceRow(seq: seq, time: entry.time, actor: entry.actor.name, patients: entry.patients, entry: String(decoding: text, as: UTF8.self), hash: hash))
            }
            let due = uncheckpointed + entries.count >= checkpointEntries || clock.now - lastCheckpoint >= checkpointInterval
            do {
                try await store.append(rows, checkpoint: due ? signed((seq, hash)) : nil)
            } catch let error as StoreError where error.code == .conflict && attempt < 5 {
                loaded = false
                continue
            }
            head = (seq, hash)
            if due {
                uncheckpointed = 0
                lastCheckpoint = clock.now
            } else {
                uncheckpointed += entries.count
            }
            return
        }
    }

    func loadHead() async throws {
        guard !loaded else { return }
        head = try await store.head()
        loaded = true
    }

    func signed(_ head: (seq: Int64, hash: String)) throws -> AccessTraceCheckpoint {
        let time = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
        let signature = try key.signature(for: AccessTraceCheckpoint.message(seq: head.seq, time: time, hash: head.hash))
        return AccessTraceCheckpoint(seq: head.seq, time: time, hash: head.hash, publicKey: publicKey, signature: signature.base64EncodedString())
    }

    /// Hex SHA-256 of the previous hash, a line feed, and the entry's text.
    public static func hash(previous: String, entry: String) -> String {
        hash(previous: previous, entry: Array(entry.utf8))
    }

    static func hash(previous: String, entry: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(previous.utf8))
        hasher.update(data: [0x0A])
        hasher.update(data: entry)
        return hex(hasher.finalize())
    }

    /// Lower-case hex, written directly (`String(format:)` per byte costs more than the hash).
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
