import Dispatch
import Metrics

/// What the store reports through swift-metrics (nothing until a server
/// bootstraps a backend): commits and their versions, refused commits, and
/// the time each takes; AQL statements and their time. No label holds an id.
/// The handles are made at each use, not kept: one made before the backend
/// was bootstrapped (a commit at start) would stay a no-op for good.
enum StoreMetrics {
    static func commit<T>(versions: Int, _ work: () async throws -> T) async throws -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let result = try await work()
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
        return try await work()
    }
}
