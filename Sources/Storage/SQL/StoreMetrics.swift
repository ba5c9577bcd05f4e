import Dispatch
import Metrics
import Synchronization
import Tracing

/// What the store reports through swift-metrics (nothing until a server
/// bootstraps a backend): commits and their versions, refused commits, and
/// the time each takes; AQL statements and their time. No label holds an id.
/// Commits and AQL statements are also spans (nothing until a tracer is bootstrapped).
/// The handles are made at each use, not kept: one made before the backend
/// was bootstrapped (a commit at start) would stay a no-op for good.
enum StoreMetrics {
    /// Also a span (`commit`), with the number of versions, around the transaction's statement spans.
    static func commit<T>(versions: Int, _ work: () async throws -> T) async throws -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let result = try await withSpan("commit") { span in
                span.attributes["socle.versions"] = versions
                return try await work()
            }
            Timer(label: "socle_commit_duration", preferredDisplayUnit: .seconds).recordNanoseconds(DispatchTime.now().uptimeNanoseconds - started)
            Counter(label: "socle_commits_total").increment()
            Counter(label: "socle_versions_committed_total").increment(by: versions)
            return result
        } catch {
            Counter(label: "socle_commits_refused_total").increment()
            throw error
        }
    }

    static func aqlQuery<T>(_ work: () async throws -> T) async throws -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        defer {
            Counter(label: "socle_aql_queries_total").increment()
            Timer(label: "socle_aql_query_duration", preferredDisplayUnit: .seconds).recordNanoseconds(DispatchTime.now().uptimeNanoseconds - started)
        }
        return try await withSpan("aql") { _ in try await work() }
    }
}

/// The use of a database pool: callers waiting for a connection and
/// holding one, connections lent and the total time waited for them, and
/// the pool's size. Kept in atomics and read when metrics are scraped
/// (`PoolMetrics.snapshot`): recording through swift-metrics at every
/// statement cost a quarter of an EHR read's throughput (BENCHMARKS.md
/// §Metrics on the read path). A caller takes a ticket before asking the
/// pool, marks it when the connection is lent, and leaves it when done,
/// whichever way the call ends.
public final class PoolMetrics: Sendable {
    /// SQLite's readers and its single writer; PostgreSQL's connections.
    public static let read = PoolMetrics(name: "read")
    public static let write = PoolMetrics(name: "write")
    public static let connections = PoolMetrics(name: "connections")
    public static let all = [read, write, connections]

    public let name: String
    let waitingCount = Atomic<Int>(0)
    let inUseCount = Atomic<Int>(0)
    let sizeValue = Atomic<Int>(0)
    let lent = Atomic<Int>(0)
    let waitedNanoseconds = Atomic<Int>(0)
    /// SQLite's writer: groups of several transactions written as one, and
    /// the transactions in them (`SQLiteGroupCommit`).
    let groups = Atomic<Int>(0)
    let grouped = Atomic<Int>(0)
    /// SQLite's WAL checkpoints: copies on the checkpointer's connection,
    /// and checkpoints on the writer (`SQLiteCheckpointer`).
    let walCopies = Atomic<Int>(0)
    let walWriterCheckpoints = Atomic<Int>(0)

    init(name: String) { self.name = name }

    public struct Snapshot: Sendable {
        public let pool: String
        public let size, waiting, inUse, acquisitions: Int
        public let waitedSeconds: Double
        public let groups, groupedTransactions: Int
        public let walCopies, walWriterCheckpoints: Int
    }

    /// The pools opened in this process, as they are now.
    public static var snapshot: [Snapshot] {
        all.filter { $0.sizeValue.load(ordering: .relaxed) > 0 }.map { pool in
            Snapshot(
                pool: pool.name, size: pool.sizeValue.load(ordering: .relaxed), waiting: pool.waitingCount.load(ordering: .relaxed),
                inUse: pool.inUseCount.load(ordering: .relaxed), acquisitions: pool.lent.load(ordering: .relaxed),
                waitedSeconds: Double(pool.waitedNanoseconds.load(ordering: .relaxed)) / 1e9, groups: pool.groups.load(ordering: .relaxed),
                groupedTransactions: pool.grouped.load(ordering: .relaxed), walCopies: pool.walCopies.load(ordering: .relaxed),
                walWriterCheckpoints: pool.walWriterCheckpoints.load(ordering: .relaxed))
        }
    }

    func size(_ size: Int) { sizeValue.store(size, ordering: .relaxed) }

    /// A group of `count` transactions written as one.
    func wroteGroup(of count: Int) {
        groups.add(1, ordering: .relaxed)
        grouped.add(count, ordering: .relaxed)
    }

    func enter() -> PoolTicket {
        waitingCount.add(1, ordering: .relaxed)
        return PoolTicket(pool: self)
    }
}

/// One call's use of a pool (`PoolMetrics`).
final class PoolTicket: Sendable {
    let pool: PoolMetrics
    let started = DispatchTime.now().uptimeNanoseconds
    let lent = Atomic<Bool>(false)

    init(pool: PoolMetrics) { self.pool = pool }

    /// The pool lent a connection: the wait is over.
    func acquired() {
        guard !lent.exchange(true, ordering: .relaxed) else { return }
        pool.waitedNanoseconds.add(Int(DispatchTime.now().uptimeNanoseconds - started), ordering: .relaxed)
        pool.lent.add(1, ordering: .relaxed)
        pool.waitingCount.subtract(1, ordering: .relaxed)
        pool.inUseCount.add(1, ordering: .relaxed)
    }

    func leave() {
        if lent.load(ordering: .relaxed) {
            pool.inUseCount.subtract(1, ordering: .relaxed)
        } else {
            pool.waitingCount.subtract(1, ordering: .relaxed)
        }
    }
}
