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

/// The use of a database pool, by pool (`read` and `write` for SQLite's
/// readers and single writer, `connections` for PostgreSQL): callers
/// waiting for a connection and holding one (gauges), the wait itself
/// (`socle_database_pool_wait_seconds`), and the pool's size. A caller takes
/// a ticket before asking the pool, marks it when the connection is lent,
/// and leaves it when done, whichever way the call ends.
enum PoolMetrics {
    struct Use {
        var waiting = 0
        var inUse = 0
        var size = 0
    }

    static let uses = Mutex<[String: Use]>([:])

    /// Kept, and reported with each use (a gauge recorded at start, before
    /// a server bootstraps the metrics backend, would be lost).
    static func size(_ pool: String, _ size: Int) {
        uses.withLock { $0[pool, default: Use()].size = size }
    }

    static func enter(_ pool: String) -> PoolTicket {
        update(pool) { $0.waiting += 1 }
        return PoolTicket(pool: pool)
    }

    static func update(_ pool: String, _ change: (inout Use) -> Void) {
        let use = uses.withLock { uses in
            change(&uses[pool, default: Use()])
            return uses[pool]!
        }
        Gauge(label: "socle_database_pool_waiting", dimensions: [("pool", pool)]).record(use.waiting)
        Gauge(label: "socle_database_pool_in_use", dimensions: [("pool", pool)]).record(use.inUse)
        Gauge(label: "socle_database_pool_size", dimensions: [("pool", pool)]).record(use.size)
    }
}

final class PoolTicket: Sendable {
    let pool: String
    let started = DispatchTime.now().uptimeNanoseconds
    let lent = Atomic<Bool>(false)

    init(pool: String) { self.pool = pool }

    /// The pool lent a connection: the wait is over.
    func acquired() {
        guard !lent.exchange(true, ordering: .relaxed) else { return }
        Timer(label: "socle_database_pool_wait", dimensions: [("pool", pool)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(DispatchTime.now().uptimeNanoseconds - started)
        PoolMetrics.update(pool) {
            $0.waiting -= 1
            $0.inUse += 1
        }
    }

    func leave() {
        if lent.load(ordering: .relaxed) {
            PoolMetrics.update(pool) { $0.inUse -= 1 }
        } else {
            PoolMetrics.update(pool) { $0.waiting -= 1 }
        }
    }
}
