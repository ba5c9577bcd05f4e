import GRDB
import GRDBSQLite
import Synchronization

/// WAL checkpoints mostly off the writer (<https://www.sqlite.org/wal.html>
/// §Automatic Checkpoint, §Application-Initiated Checkpoints). SQLite's own
/// automatic checkpoint copies the whole WAL back inside the COMMIT that
/// crosses the threshold, on the one writer connection, and every
/// transaction queued behind it waits (a blood pressure commit's p99 was
/// 70–80 ms with 8 clients, 27 ms with no checkpoints at all, BENCHMARKS.md).
///
/// Here a checkpoint has two parts. When the writer's WAL hook sees the WAL
/// past `threshold` frames, it signals this object, which copies the frames
/// back on a connection of its own while the writer goes on appending
/// (PASSIVE). Then, at the writer's next commit, the hook checkpoints the
/// few frames appended meanwhile on the writer itself: with nothing appended
/// during that short copy the WAL is wholly copied back, and SQLite starts
/// it again from its beginning at the next transaction (a WAL is restarted
/// only by a writer that finds every frame copied back). Should the WAL
/// reach `limit` frames anyway (this connection behind, or stopped), the
/// writer checkpoints it all in its COMMIT, as SQLite would: the WAL stays
/// bounded (by `limit` and what is appended while a copy still runs here:
/// two checkpoints do not run at once).
final class SQLiteCheckpointer: Sendable {
    /// The WAL frames (pages) that start a checkpoint, and those past which the writer checkpoints whatever else runs.
    let threshold: Int32
    let limit: Int32
    let signal: AsyncStream<Void>.Continuation
    let stream: AsyncStream<Void>
    /// The task that copies, once started.
    let worker = Mutex<Task<Void, Never>?>(nil)
    /// A copy is running on the checkpointer's connection; one has ended and the writer's part is due.
    let copying = Atomic<Bool>(false)
    let copied = Atomic<Bool>(false)
    /// Copies done on the checkpointer's connection, and checkpoints done on the writer (its parts and past `limit`).
    let checkpoints = Atomic<Int>(0)
    let writerCheckpoints = Atomic<Int>(0)
    /// The WAL's frames after the last commit.
    let frames = Atomic<Int32>(0)

    init(threshold: Int32) {
        self.threshold = threshold
        limit = threshold * 4
        (stream, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Copies the WAL of the database at `path` back at every signal, on a
    /// connection opened at the first (a database whose WAL never reaches the
    /// threshold holds no more connections and files than before: a test
    /// suite opens hundreds at once).
    func start(path: String) {
        let task = Task { [stream, weak self] in
            var connection: DatabaseQueue?
            for await _ in stream {
                if connection == nil { connection = try? Self.connection(path) }
                // A failed copy (counted as none) leaves the whole to the writer's part, and the WAL bounded by its limit.
                let done = (try? await connection?.writeWithoutTransaction { try $0.checkpoint(.passive) }) != nil
                guard let self else { break }
                if done {
                    checkpoints.add(1, ordering: .relaxed)
                    PoolMetrics.write.walCopies.add(1, ordering: .relaxed)
                }
                copied.store(true, ordering: .releasing)
                copying.store(false, ordering: .releasing)
            }
            // Closed after the pool's connections: the last to close copies the WAL back and removes it.
            try? connection?.close()
        }
        worker.withLock { $0 = task }
    }

    static func connection(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        // A PASSIVE checkpoint does not wait for locks; nothing else runs here.
        configuration.busyMode = .immediateError
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Makes `db`'s commits report their WAL size here (replacing SQLite's
    /// automatic checkpoint on that connection). The hook holds this object
    /// unretained: the pool's configuration, which installs it on every connection, keeps it.
    func install(on db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, { context, connection, name, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<SQLiteCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(frames: frames, connection, name)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// After a commit on the writer, with `frames` in the WAL.
    func committed(frames: Int32, _ connection: OpaquePointer?, _ name: UnsafePointer<CChar>?) {
        self.frames.store(frames, ordering: .relaxed)
        if copied.exchange(false, ordering: .acquiring) || frames >= limit {
            // As SQLite's automatic checkpoint does; its outcome is not the commit's. Busy
            // (a copy still running on the checkpointer's connection) is not counted.
            if sqlite3_wal_checkpoint_v2(connection, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil) == SQLITE_OK {
                writerCheckpoints.add(1, ordering: .relaxed)
                PoolMetrics.write.walWriterCheckpoints.add(1, ordering: .relaxed)
            }
        } else if frames >= threshold, copying.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            signal.yield()
        }
    }

    /// A database dropped without `close`: its task ends and the connection closes with it.
    deinit { signal.finish() }

    /// Stops the checkpoints and closes the connection (after the writer's: no hook calls here any more).
    func close() async {
        signal.finish()
        await worker.withLock({ $0 })?.value
    }
}
