import Foundation
import OpenEHR
import Storage

/// What every benchmark shares: concurrent clients, latencies, a printed table.
enum BenchHarness {
    struct Result {
        var perSecond: Double
        var p50: Duration
        var p99: Duration
        /// The CPU time the whole process (server and clients alike) spent
        /// per operation: a noisy machine disturbs it less than the rate.
        var cpu: Duration = .zero
        /// The operations measured.
        var operations = 0
    }

    /// Runs `requests` operations spread over `clients` concurrent tasks.
    static func measure(requests: Int, clients: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws -> Result {
        let perClient = max(1, requests / clients)
        let (start, cpuBefore) = (ContinuousClock.now, cpuTime())
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var local: [Duration] = []
                    local.reserveCapacity(perClient)
                    for index in 0..<perClient {
                        let began = ContinuousClock.now
                        try await operation(client * perClient + index)
                        local.append(ContinuousClock.now - began)
                    }
                    return local
                }
            }
            var all: [Duration] = []
            for try await batch in group { all.append(contentsOf: batch) }
            return all.sorted()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(
            perSecond: Double(latencies.count) / seconds, p50: latencies[latencies.count / 2],
            p99: latencies[min(latencies.count - 1, latencies.count * 99 / 100)], cpu: (cpuTime() - cpuBefore) / latencies.count,
            operations: latencies.count)
    }

    /// User and system CPU time of this process so far (getrusage).
    static func cpuTime() -> Duration {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func duration(_ time: timeval) -> Duration { .seconds(Int64(time.tv_sec)) + .microseconds(Int64(time.tv_usec)) }
        return duration(usage.ru_utime) + duration(usage.ru_stime)
    }

    struct Row {
        var name: String
        var clients: Int
        var result: Result

        static let header =
            "what".padding(toLength: 44, withPad: " ", startingAt: 0) + "clients".leftPadded(8) + "per second".leftPadded(12)
            + "p50 ms".leftPadded(10) + "p99 ms".leftPadded(10)

        var text: String {
            name.padding(toLength: 44, withPad: " ", startingAt: 0) + "\(clients)".leftPadded(8)
                + String(format: "%.0f", result.perSecond).leftPadded(12) + Self.milliseconds(result.p50).leftPadded(10)
                + Self.milliseconds(result.p99).leftPadded(10)
        }

        static let headerWithCPU = header + "CPU µs/op".leftPadded(11)

        /// The row with the CPU time per operation.
        var textWithCPU: String {
            text + String(format: "%.0f", Double(result.cpu.components.seconds) * 1e6 + Double(result.cpu.components.attoseconds) / 1e12).leftPadded(11)
        }

        static func milliseconds(_ duration: Duration) -> String {
            String(format: "%.2f", Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
        }
    }

    /// A first version and its contribution, as the ceilings commit them.
    static func version(ehrID: String, objectID: String, data: [UInt8]) -> (ContributionRecord, VersionRecord) {
        let audit = AuditRecord(
            systemID: "bench.socle", committer: #"{"_type":"PARTY_IDENTIFIED","name":"bench"}"#, timeCommitted: ISODateTime.now().microsecondsSinceEpoch,
            changeType: "249", description: nil)
        let contribution = ContributionRecord(contributionID: UUIDText.timeOrdered(), ehrID: ehrID, audit: audit)
        let version = VersionRecord(
            objectID: objectID, versionNumber: 1, ehrID: ehrID, contributionID: contribution.contributionID, audit: audit, lifecycleState: "532", data: data)
        return (contribution, version)
    }
}
