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
        subcommands: [EHRBench.self, CompositionBench.self, AQLBench.self, JSONBench.self, FHIRBench.self, FormatsBench.self])
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
        let server = try await BenchServer(database: database, port: port)
        let components = server.components
        print("Socle \(SocleServer.version) — bench ehr: \(requests) requests per level, database \(components.database.kind.rawValue)")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores\n")
        print(BenchHarness.Row.header)
        for clients in concurrency {
            let trivial = try await BenchHarness.measure(requests: requests, clients: clients) { _ in
                try await server.send(.GET, "/status", expected: 200)
            }
            print(BenchHarness.Row(name: "GET /status (ceiling: trivial endpoint)", clients: clients, result: trivial).text)
            let creations = try await BenchHarness.measure(requests: requests, clients: clients) { _ in
                try await server.send(.POST, "/openehr/v1/ehr", expected: 201)
            }
            print(BenchHarness.Row(name: "POST /openehr/v1/ehr", clients: clients, result: creations).text)
            let raw = try await BenchHarness.measure(requests: requests, clients: clients) { _ in try await insertRawEHR(components.database) }
            print(BenchHarness.Row(name: "raw prepared SQL, same rows (ceiling)", clients: clients, result: raw).text)
        }
        try await server.stop()
    }

    /// The rows one EHR creation writes (EHR, contribution, versioned object,
    /// version with a default EHR_STATUS document), in one transaction.
    func insertRawEHR(_ database: any SQLDatabase) async throws {
        let ehrID = UUIDText.random()
        let objectID = UUIDText.random()
        let data = Array(
            #"{"_type":"EHR_STATUS","name":{"_type":"DV_TEXT","value":"EHR Status"},"archetype_node_id":"openEHR-EHR-EHR_STATUS.generic.v1","uid":{"_type":"OBJECT_VERSION_ID","value":"\#(objectID)::bench.socle::1"},"subject":{"_type":"PARTY_SELF"},"is_queryable":true,"is_modifiable":true}"#
                .utf8)
        let ehr = SQLStatement(
            "INSERT INTO ehr (ehr_id, system_id, time_created, status_object_id, subject_id, subject_namespace, is_queryable, is_modifiable) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [.text(ehrID), "bench.socle", .integer(ISODateTime.now().microsecondsSinceEpoch), .text(objectID), .null, .null, 1, 1])
        try await database.transaction(
            [ehr] + BenchHarness.versionRows(ehrID: ehrID, objectID: objectID, rmType: "EHR_STATUS", templateID: nil, data: data))
    }

}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
