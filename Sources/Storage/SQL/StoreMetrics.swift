import Dispatch
import Metrics

/// What the store reports through swift-metrics (nothing until a server
/// bootstraps a backend): commits and their versions, refused commits, and
/// the time each takes; AQL statements and their time. No label holds an id.
enum StoreMetrics {
    static let commits = Counter(label: "socle_commits_total")
    static let refusedCommits = Counter(label: "socle_commits_refused_total")
    static let committedVersions = Counter(label: "socle_versions_committed_total")
    static let commitDuration = Timer(label: "socle_commit_duration", preferredDisplayUnit: .seconds)
    static let aqlQueries = Counter(label: "socle_aql_queries_total")
    static let aqlDuration = Timer(label: "socle_aql_query_duration", preferredDisplayUnit: .seconds)

    static func commit<T>(versions: Int, _ work: () async throws -> T) async throws -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let result = try await work()
            commitDuration.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - started)
            commits.increment()
            committedVersions.increment(by: versions)
            return result
        } catch {
            refusedCommits.increment()
            throw error
        }
    }

    static func aqlQuery<T>(_ work: () async throws -> T) async throws -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        defer {
            aqlQueries.increment()
            aqlDuration.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - started)
        }
        return try await work()
    }
}
