import ArgumentParser
import AsyncHTTPClient
import Foundation
import JSONCore
import Logging
import NIOCore
import OpenEHR
import Server
import ServiceLifecycle
import Storage

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print figures with their baselines, measured in the same run.",
        subcommands: [EHRBench.self, CompositionBench.self, AQLBench.self, JSONBench.self, FHIRBench.self, FHIRServerBench.self, FHIRSearchBench.self, FormatsBench.self, AccessBench.self, MappingBench.self, MappedWriteBench.self, MappedImportBench.self])
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
        print("Socle \(SocleServer.version) — bench ehr: \(requests) requests per level, database \(components.store.kind.rawValue)")
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
            let raw = try await BenchHarness.measure(requests: requests, clients: clients) { _ in try await commitEHR(components.store.versions) }
            print(BenchHarness.Row(name: "the store's commit, same rows (ceiling)", clients: clients, result: raw).text)
        }
        try await server.stop()
    }

    /// What one EHR creation writes (EHR, contribution, versioned objects and
    /// versions of a default EHR_STATUS and an EHR_ACCESS, their changes), committed
    /// by the store itself: no HTTP, no JSON reading, no service.
    func commitEHR(_ store: VersionStore) async throws {
        let ehrID = UUIDText.random()
        let objectID = UUIDText.timeOrdered()
        let data = Array(
            #"{"_type":"EHR_STATUS","name":{"_type":"DV_TEXT","value":"EHR Status"},"archetype_node_id":"openEHR-EHR-EHR_STATUS.generic.v1","uid":{"_type":"OBJECT_VERSION_ID","value":"\#(objectID)::bench.socle::1"},"subject":{"_type":"PARTY_SELF"},"is_queryable":true,"is_modifiable":true}"#
                .utf8)
        let now = ISODateTime.now().microsecondsSinceEpoch
        let ehr = EHRRecord(
            ehrID: ehrID, systemID: "bench.socle", timeCreated: now, statusObjectID: objectID, subjectID: nil, subjectNamespace: nil, isQueryable: true,
            isModifiable: true)
        let (contribution, version) = BenchHarness.version(ehrID: ehrID, objectID: objectID, data: data)
        let accessID = UUIDText.timeOrdered()
        var access = version
        access.objectID = accessID
        access.data = JSONSerializer.bytes(EHRAccess(uid: ObjectVersionID(objectID: accessID, creatingSystemID: "bench.socle", versionNumber: 1)).json)
        try await store.commit(
            contribution, versions: [.create(version, rmType: "EHR_STATUS"), .create(access, rmType: "EHR_ACCESS")], ehrChange: .create(ehr))
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
