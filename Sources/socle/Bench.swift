import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import OpenEHR
import Server
import ServiceLifecycle
import Storage

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print figures with their baselines, measured in the same run.",
        subcommands: [EHRBench.self, JSONBench.self])
}

/// `socle bench ehr`: EHR creations per second through the HTTP API at 1, 8
/// and 32 concurrent clients, beside two ceilings measured in the same run:
/// a trivial endpoint of the same server (`GET /status`) and the same rows
/// inserted by raw prepared SQL.
struct EHRBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ehr", abstract: "EHR creation through the HTTP API.")

    @Option(help: "Requests per concurrency level.") var requests = 4000
    @Option(help: "Database URL; default: a fresh SQLite file in a temporary folder.") var database: String?
    @Option(help: "Port for the benchmark server on 127.0.0.1.") var port = 18_089
    @Option(help: "Concurrency levels.") var concurrency: [Int] = [1, 8, 32]

    func run() async throws {
        var logger = Logger(label: "socle.bench")
        logger.logLevel = .warning
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-bench-\(UUIDText.random())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = database ?? "sqlite:\(folder.path)/bench.sqlite"
        let configuration = ServerConfiguration(
            host: "127.0.0.1", port: port, databaseURL: url, systemID: "bench.socle",
            authentication: .basic([User(name: "bench", password: "bench-password", role: .admin)]))
        let components = try await SocleServer.open(configuration, logger: logger)
        let app = SocleServer.application(components, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let serverTask = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(500))

        print("Socle \(SocleServer.version) — bench ehr: \(requests) requests per level, database \(components.database.kind.rawValue)")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores\n")
        print(Row.header)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: .init(idleTimeout: .seconds(30))))
        let base = "http://127.0.0.1:\(port)"
        let authorization = "Basic " + Data("bench:bench-password".utf8).base64EncodedString()
        for clients in concurrency {
            let trivial = try await measure(clients: clients) { _ in
                var request = HTTPClientRequest(url: base + "/status")
                request.method = .GET
                let response = try await client.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .ok else { throw BenchError("GET /status answered \(response.status.code)") }
            }
            print(Row(name: "GET /status (ceiling: trivial endpoint)", clients: clients, result: trivial).text)
            let creations = try await measure(clients: clients) { _ in
                var request = HTTPClientRequest(url: base + "/openehr/v1/ehr")
                request.method = .POST
                request.headers.add(name: "Authorization", value: authorization)
                let response = try await client.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .created else { throw BenchError("POST /ehr answered \(response.status.code)") }
            }
            print(Row(name: "POST /openehr/v1/ehr", clients: clients, result: creations).text)
            let raw = try await measure(clients: clients) { _ in try await insertRawEHR(components.database) }
            print(Row(name: "raw prepared SQL, same rows (ceiling)", clients: clients, result: raw).text)
        }
        try await client.shutdown()
        await group.triggerGracefulShutdown()
        try await serverTask.value
        try await components.database.close()
    }

    /// The rows one EHR creation writes (EHR, contribution, versioned object,
    /// version with a default EHR_STATUS document), in one transaction.
    func insertRawEHR(_ database: any SQLDatabase) async throws {
        let ehrID = UUIDText.random()
        let objectID = UUIDText.random()
        let contributionID = UUIDText.random()
        let now = ISODateTime.now().microsecondsSinceEpoch
        let committer = #"{"_type":"PARTY_IDENTIFIED","name":"bench"}"#
        let data = Array(
            #"{"_type":"EHR_STATUS","name":{"_type":"DV_TEXT","value":"EHR Status"},"archetype_node_id":"openEHR-EHR-EHR_STATUS.generic.v1","uid":{"_type":"OBJECT_VERSION_ID","value":"\#(objectID)::bench.socle::1"},"subject":{"_type":"PARTY_SELF"},"is_queryable":true,"is_modifiable":true}"#
                .utf8)
        try await database.transaction([
            SQLStatement(
                "INSERT INTO ehr (ehr_id, system_id, time_created, status_object_id, subject_id, subject_namespace, is_queryable, is_modifiable) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [.text(ehrID), "bench.socle", .integer(now), .text(objectID), .null, .null, 1, 1]),
            SQLStatement(
                "INSERT INTO contribution (contribution_id, ehr_id, system_id, committer, time_committed, change_type, description) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text(contributionID), .text(ehrID), "bench.socle", .text(committer), .integer(now), "249", .null]),
            SQLStatement(
                "INSERT INTO versioned_object (object_id, ehr_id, rm_type, time_created, latest_version) VALUES (?, ?, ?, ?, ?)",
                [.text(objectID), .text(ehrID), "EHR_STATUS", .integer(now), 1]),
            SQLStatement(
                "INSERT INTO object_version (object_id, version_number, ehr_id, contribution_id, system_id, committer, time_committed, change_type, description, lifecycle_state, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [.text(objectID), 1, .text(ehrID), .text(contributionID), "bench.socle", .text(committer), .integer(now), "249", .null, "532", .blob(data)]),
        ])
    }

    struct Result {
        var perSecond: Double
        var p50: Duration
        var p99: Duration
    }

    /// Runs `requests` operations spread over `clients` concurrent tasks.
    func measure(clients: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws -> Result {
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
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
