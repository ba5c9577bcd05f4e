import GRDB
import Synchronization
import Tracing

/// Group commit on SQLite's single writer (issue 19 §8). A transaction that
/// arrives while another is being written waits in a queue; the writer then
/// takes every transaction waiting and writes them in one SQLite transaction,
/// each inside its own savepoint: a transaction whose statement or guard
/// fails is rolled back alone and its caller gets its error, the others
/// commit. Pages that several commits dirty (the last leaf of each table and
/// index they append to) are then written to the WAL once per group rather
/// than once per commit, which is where a commit's time went (BENCHMARKS.md).
/// A transaction that arrives alone is written alone, without a savepoint.
final class SQLiteGroupCommit: Sendable {
    struct Waiting: Sendable {
        var statements: [SQLStatement]
        var context: InstrumentationContext
        var ticket: PoolTicket
        var continuation: CheckedContinuation<Void, any Error>
    }

    /// The transactions waiting, and whether a writer is draining them.
    let queue = Mutex<(waiting: [Waiting], draining: Bool)>(([], false))
    /// The most transactions written in one group, so that one group's
    /// latency stays bounded.
    static let groupLimit = 64
    /// The most groups written on one hold of the writer connection.
    static let groupsPerHold = 32
    /// Groups of several transactions written, and the transactions in them.
    let groups = Atomic<Int>(0)
    let grouped = Atomic<Int>(0)

    /// Writes `statements` in a transaction, alone or with others that wait.
    func transaction(_ statements: [SQLStatement], context: InstrumentationContext, ticket: PoolTicket, pool: DatabasePool) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let start = queue.withLock { state -> Bool in
                state.waiting.append(Waiting(statements: statements, context: context, ticket: ticket, continuation: continuation))
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if start { Task { await self.drain(pool) } }
        }
    }

    /// Writes groups until none waits. A run of up to `groupsPerHold`
    /// groups is written on one hold of the writer connection, each group
    /// its own transaction: a busy writer does not wait to be scheduled
    /// again between groups (on two busy cores about as long as the
    /// group's statements took, measured). Between runs the writer is let
    /// go, so that other writes (migrations) are not kept out.
    func drain(_ pool: DatabasePool) async {
        while true {
            do {
                let more = try await pool.writeWithoutTransaction { db in
                    for _ in 0..<Self.groupsPerHold {
                        let group = self.next()
                        guard !group.isEmpty else { return false }
                        self.commit(group, in: db)
                    }
                    return true
                }
                if !more { return }
            } catch {
                // The writer could not be had (a group's own errors are its
                // callers' in `commit`): every transaction waiting fails rather than waits.
                let waiting = queue.withLock { state -> [Waiting] in
                    defer { (state.waiting, state.draining) = ([], false) }
                    return state.waiting
                }
                for transaction in waiting { transaction.continuation.resume(throwing: error) }
                return
            }
        }
    }

    /// The next group, oldest first; none (and no longer draining) when none waits.
    func next() -> [Waiting] {
        queue.withLock { state -> [Waiting] in
            let taken = Array(state.waiting.prefix(Self.groupLimit))
            state.waiting.removeFirst(taken.count)
            if taken.isEmpty { state.draining = false }
            return taken
        }
    }

    /// One group in one transaction; each caller gets its outcome.
    func commit(_ group: [Waiting], in db: Database) {
        if group.count > 1 {
            groups.add(1, ordering: .relaxed)
            grouped.add(group.count, ordering: .relaxed)
            PoolMetrics.write.wroteGroup(of: group.count)
        }
        do {
            var outcomes: [Result<Void, any Error>] = []
            try db.inTransaction {
                outcomes = try Self.write(group, in: db)
                return .commit
            }
            for (waiting, outcome) in zip(group, outcomes) { waiting.continuation.resume(with: outcome) }
        } catch {
            // The group's own COMMIT failed (or its one transaction did): none of it is written.
            for waiting in group { waiting.continuation.resume(throwing: error) }
        }
    }

    /// The group's transactions in the writer's transaction: one alone as
    /// it is (its error rolls the whole back), several each in a savepoint.
    static func write(_ group: [Waiting], in db: Database) throws -> [Result<Void, any Error>] {
        if group.count == 1 {
            group[0].ticket.acquired()
            try run(group[0], in: db)
            return [.success(())]
        }
        return group.map { waiting in
            waiting.ticket.acquired()
            do {
                try db.inSavepoint {
                    try run(waiting, in: db)
                    return .commit
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
    }

    static func run(_ waiting: Waiting, in db: Database) throws {
        // Statements given together run one by one here, each its own span.
        for statement in waiting.statements.flatMap({ $0.parts.isEmpty ? [$0] : $0.parts }) {
            try SQLTracing.span(statement.sql, .sqlite, context: waiting.context) { try SQLiteDatabase.execute(statement, in: db) }
        }
    }
}
