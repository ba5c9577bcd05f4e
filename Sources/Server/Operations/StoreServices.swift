import Foundation
import Logging
import ServiceLifecycle
import Services
import Storage
import Synchronization

/// The database as a member of the server's service group: it closes when
/// the group shuts it down, which a group does in the reverse order of its
/// services, after the HTTP server has finished its in-flight requests.
struct DatabaseLifecycle: Service {
    let store: Store

    func run() async throws {
        try? await gracefulShutdown()
        try await store.close()
    }
}

/// Rebuilds, in the background, the projections found stale at start (or
/// abandoned by another process), while the server serves; the queries that
/// need one answer 503 until it is current (docs/architecture.md §Projections).
struct ProjectionMaintenance: Service {
    let projections: Projections
    let logger: Logger
    let owner = "serve-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)

    func run() async throws {
        let progress = ProjectionProgress()
        let logger = self.logger
        await cancelWhenGracefulShutdown {
            await projections.maintain(
                owner: owner, every: .seconds(10),
                progress: { state in
                    if let line = progress.line(state, every: .seconds(10)) { logger.notice("\(line)") }
                },
                failure: { name, error in
                    logger.error("rebuilding a projection failed; it is tried again shortly", metadata: ["socle.projection": "\(name)", "socle.error": "\(error)"])
                })
        }
    }
}

/// Progress of a rebuild in words: count, rate, time left.
public final class ProjectionProgress: Sendable {
    struct Start {
        var time: ContinuousClock.Instant
        var done: Int
    }

    let starts = Mutex<[String: Start]>([:])
    let lastLine = Mutex<ContinuousClock.Instant?>(nil)

    public init() {}

    /// The line for a state, or nil when one was given less than `every` ago
    /// (the first and the last lines are always given).
    public func line(_ state: ProjectionState, every interval: Duration) -> String? {
        let now = ContinuousClock.now
        let start = starts.withLock { starts in
            if starts[state.name] == nil { starts[state.name] = Start(time: now, done: state.done) }
            return starts[state.name]!
        }
        let final = state.phase == .current
        let due = lastLine.withLock { last -> Bool in
            guard final || last == nil || now - last! >= interval else { return false }
            last = now
            return true
        }
        guard due else { return nil }
        return Self.describe(state, since: start.time, from: start.done, now: now)
    }

    /// `aql_index: 12,000 of 100,000 (1,200/s, 65 s left)`.
    public static func describe(_ state: ProjectionState, since start: ContinuousClock.Instant, from first: Int, now: ContinuousClock.Instant) -> String {
        let elapsed = Self.seconds(now - start)
        let rate = elapsed > 0 ? Double(state.done - first) / elapsed : 0
        let total = state.total.map { " of \($0)" } ?? ""
        if state.phase == .current {
            return "projection \(state.name) rebuilt: \(state.done)\(total) records in \(String(format: "%.1f", elapsed)) s"
        }
        var text = "projection \(state.name) rebuilding: \(state.done)\(total) records"
        if rate > 0 {
            text += " (\(Int(rate))/s"
            if let total = state.total { text += ", \(Int(Double(max(0, total - state.done)) / rate)) s left" }
            text += ")"
        }
        return text
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The access trace as a member of the service group: applies retention
/// (at start, then hourly) while the server runs; at shutdown, once the
/// server has drained its requests, signs the chain's head and closes the trace.
struct AccessTraceLifecycle: Service {
    let trace: AccessTrace
    let retentionDays: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await applyRetention()
                try? await Task.sleep(for: .seconds(3600))
            }
        }
        do {
            try await trace.checkpoint()
        } catch {
            logger.error("the access trace's last checkpoint could not be written", metadata: ["socle.error": "\(error)"])
        }
        try await trace.store.close()
    }

    func applyRetention() async {
        guard retentionDays > 0 else { return }
        let cutoff = Int64((Date().timeIntervalSince1970 - Double(retentionDays) * 86_400) * 1_000_000)
        do {
            let removed = try await trace.store.removeEntries(before: cutoff)
            if removed > 0 { logger.notice("access trace retention removed entries", metadata: ["socle.entries": "\(removed)"]) }
        } catch {
            logger.error("access trace retention failed; it is tried again in an hour", metadata: ["socle.error": "\(error)"])
        }
    }
}
