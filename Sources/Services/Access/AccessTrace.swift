import Crypto
import Foundation
import JSONCore
import Storage

/// The access trace (docs/architecture.md §Access trace): every access to
/// patient data appended to a hash chain, with periodic checkpoints signed
/// by a key the database does not hold.
///
/// Entries that arrive while a batch is being written are written together
/// in the next one (group commit), so the trace costs one transaction per
/// batch, not per request; `record` returns once its entry is stored.
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
    var pending: [(entry: AccessEntry, done: CheckedContinuation<Void, any Error>)] = []
    var writing = false
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

    /// Appends an entry, stamped with the current time; returns once it is stored.
    public func record(_ entry: AccessEntry) async throws {
        var entry = entry
        entry.time = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            pending.append((entry, done))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    /// Signs the chain's head now (at shutdown, and in tests), if entries came since the last checkpoint.
    public func checkpoint() async throws {
        while writing { await Task.yield() }
        writing = true
        defer { writing = false }
        try await loadHead()
        guard uncheckpointed > 0, let head else { return }
        try await store.append([], checkpoint: signed(head))
        uncheckpointed = 0
        lastCheckpoint = clock.now
    }

    /// Writes what is pending, batch after batch, until nothing is.
    func drain() async {
        while !pending.isEmpty {
            let batch = pending
            pending = []
            do {
                try await write(batch.map(\.entry))
                for item in batch { item.done.resume() }
            } catch {
                for item in batch { item.done.resume(throwing: error) }
            }
        }
        writing = false
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
                let text = JSONSerializer.string(entry.json(seq: seq))
                hash = Self.hash(previous: hash, entry: text)
                rows.append(
                    AccessTraceRow(seq: seq, time: entry.time, actor: entry.actor.name, patients: entry.patients, entry: text, hash: hash))
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
        var hasher = SHA256()
        hasher.update(data: Array(previous.utf8))
        hasher.update(data: [0x0A])
        hasher.update(data: Array(entry.utf8))
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
