import Foundation
import OpenEHR
import Storage

/// What every benchmark shares: concurrent clients, latencies, a printed table.
enum BenchHarness {
    struct Result {
        var perSecond: Double
        var p50: Duration
        var p99: Duration
    }

    /// Runs `requests` operations spread over `clients` concurrent tasks.
    static func measure(requests: Int, clients: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws -> Result {
        let perClient = max(1, requests / clients)
        let start = ContinuousClock.now
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
            p99: latencies[min(latencies.count - 1, latencies.count * 99 / 100)])
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

        static func milliseconds(_ duration: Duration) -> String {
            String(format: "%.2f", Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
        }
    }

    /// The rows of a first version written by raw prepared SQL, the ceiling
    /// the API is compared with: contribution, versioned object, version.
    static func versionRows(ehrID: String, objectID: String, rmType: String, templateID: String?, data: [UInt8]) -> [SQLStatement] {
        let contributionID = UUIDText.random()
        let now = ISODateTime.now().microsecondsSinceEpoch
        let committer = #"{"_type":"PARTY_IDENTIFIED","name":"bench"}"#
        return [
            SQLStatement(
                "INSERT INTO contribution (contribution_id, ehr_id, system_id, committer, time_committed, change_type, description) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text(contributionID), .text(ehrID), "bench.socle", .text(committer), .integer(now), "249", .null]),
            SQLStatement(
                "INSERT INTO versioned_object (object_id, ehr_id, rm_type, time_created, latest_version, template_id) VALUES (?, ?, ?, ?, ?, ?)",
                [.text(objectID), .text(ehrID), .text(rmType), .integer(now), 1, SQLValue(templateID)]),
            SQLStatement(
                "INSERT INTO object_version (object_id, version_number, ehr_id, contribution_id, system_id, committer, time_committed, change_type, description, lifecycle_state, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [.text(objectID), 1, .text(ehrID), .text(contributionID), "bench.socle", .text(committer), .integer(now), "249", .null, "532", .blob(data)]),
        ]
    }
}
