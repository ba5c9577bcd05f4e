import Foundation
import Hummingbird
import JSONCore
import Storage

/// `GET /health/live` and `GET /health/ready` (for an orchestrator's probes
/// and an operator's checks): JSON, unauthenticated, nothing about patients.
/// Live: the process answers. Ready: the database answers within
/// `timeout`, its schema is the one this binary migrates to, and every
/// projection is current (a rebuilding one is named with its progress);
/// 200 when all hold, 503 otherwise, each check with its own status.
struct HealthRoutes {
    let store: Store
    var timeout: Duration = .seconds(2)

    func register(on root: RouterGroup<SocleRequestContext>) {
        let live = JSONSerializer.bytes(["status": "up"])
        root.get("health/live") { _, _ in Response.json(bytes: live) }
        root.get("health/ready") { _, _ in
            let (ready, checks) = await readiness()
            return Response.json(ready ? .ok : .serviceUnavailable, ["status": .string(ready ? "up" : "down"), "checks": .object(JSONObject(checks))])
        }
    }

    /// Each check and whether all of them hold; the later checks are not
    /// tried when the database does not answer.
    func readiness() async -> (Bool, [(String, JSON)]) {
        var checks: [(String, JSON)] = []
        let started = ContinuousClock.now
        do {
            try await Self.within(timeout) { try await store.ping() }
            let elapsed = ContinuousClock.now - started
            checks.append(("database", ["status": "up", "kind": .string(store.kind.rawValue), "latency_ms": .number(String(Self.milliseconds(elapsed)))]))
        } catch {
            checks.append(("database", ["status": "down", "kind": .string(store.kind.rawValue), "reason": .string(Self.reason(error))]))
            return (false, checks)
        }
        var ready = true
        do {
            let (current, expected) = try await store.schemaVersions()
            ready = ready && current == expected
            checks.append(("schema", ["status": .string(current == expected ? "up" : "down"), "version": JSON(current), "expected": JSON(expected)]))
            let states = try await store.projections.states()
            let projections = states.map { state -> (String, JSON) in
                var item: [(String, JSON)] = [("phase", .string(state.phase.rawValue)), ("version", JSON(state.version))]
                if state.phase != .current {
                    item.append(("done", JSON(state.done)))
                    if let total = state.total { item.append(("total", JSON(total))) }
                }
                return (state.name, .object(JSONObject(item)))
            }
            let allCurrent = states.allSatisfy { $0.phase == .current }
            ready = ready && allCurrent
            checks.append(("projections", ["status": .string(allCurrent ? "up" : "down"), "projections": .object(JSONObject(projections))]))
        } catch {
            ready = false
            checks.append(("schema", ["status": "down", "reason": .string(Self.reason(error))]))
        }
        return (ready, checks)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return (Double(seconds) * 1000 + Double(attoseconds) / 1e15 * 1000).rounded() / 1000
    }

    /// What went wrong, without anything a query held.
    static func reason(_ error: any Error) -> String {
        if error is TimedOut { return "no answer within the timeout" }
        if let error = error as? StoreError { return error.message }
        return "the database refused the check"
    }

    struct TimedOut: Error {}

    /// The work's result, or `TimedOut` once `timeout` has passed even if
    /// the work goes on (a statement stuck in the database does not hold the answer back).
    static func within(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> Void) async throws {
        let outcome = Outcome()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Task {
                do {
                    try await work()
                    if outcome.claim() { continuation.resume() }
                } catch {
                    if outcome.claim() { continuation.resume(throwing: error) }
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                if outcome.claim() { continuation.resume(throwing: TimedOut()) }
            }
        }
    }

    /// Whichever of the work and the timer finishes first resumes the caller, once.
    final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var claimed = false

        func claim() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if claimed { return false }
            claimed = true
            return true
        }
    }
}
