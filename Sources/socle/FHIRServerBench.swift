import ArgumentParser
import AsyncHTTPClient
import Foundation
import JSONCore
import OpenEHR
import Server
import Services
import Storage

/// `socle bench fhir-server`: the FHIR face under load. The Synthea import
/// in resources per second beside the store committing the same rows (same
/// bytes and search-index rows, no parsing, validation or reference
/// resolution); then create, read, vread, update and patch through HTTP at
/// 1, 8 and 32 clients, each level beside the trivial endpoint of the same
/// server and, for writes and reads, the store doing the same rows.
struct FHIRServerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fhir-server", abstract: "FHIR interactions through the HTTP API, and the Synthea import.")

    @Option(help: "Folder of Synthea bundles.") var folder = "../shared/corpus/fhir/synthea"
    @Option(help: "Patient bundles imported (the two 0-… bundles of organisations and practitioners come first); 0 skips the import.")
    var bundles = 40
    @Option(help: "Requests per level and interaction.") var requests = 2000
    @Option(help: "Database URL; default: a fresh SQLite file in a temporary folder.") var database: String?
    @Option(help: "Port for the benchmark server on 127.0.0.1.") var port = 18_091
    @Option(help: "Concurrency levels.") var concurrency: [Int] = [1, 8, 32]

    func run() async throws {
        let server = try await BenchServer(database: database, port: port)
        let components = server.components
        print("Socle \(SocleServer.version) — bench fhir-server, database \(components.store.kind.rawValue), \(ProcessInfo.processInfo.activeProcessorCount) cores\n")
        if bundles > 0 { try await importSynthea(components) }
        var patients: [String] = []
        for _ in 0..<32 {
            let created = try await server.send(.POST, "/fhir/Patient", body: Array(#"{"resourceType": "Patient", "gender": "female"}"#.utf8), contentType: "application/fhir+json", expected: 201)
            patients.append(try JSONParser.parse(Array(buffer: created))["id"]?.stringValue ?? "")
        }
        print(BenchHarness.Row.header)
        for clients in concurrency {
            try await level(server, clients: clients, patients: patients)
        }
        try await server.stop()
    }

    static func observation(patient: String, value: Int) -> [UInt8] {
        Array(
            #"{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"subject":{"reference":"Patient/\#(patient)"},"effectiveDateTime":"2026-12-04T10:00:00Z","valueQuantity":{"value":\#(value),"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}"#
                .utf8)
    }

    /// One concurrency level: every interaction, with its ceilings.
    func level(_ server: BenchServer, clients: Int, patients: [String]) async throws {
        let store = server.components.store.versions
        let trivial = try await BenchHarness.measure(requests: requests, clients: clients) { _ in try await server.send(.GET, "/status", expected: 200) }
        print(BenchHarness.Row(name: "GET /status (ceiling: trivial endpoint)", clients: clients, result: trivial).text)
        let ids = IDList(count: requests)
        let create = try await BenchHarness.measure(requests: requests, clients: clients) { index in
            let body = Self.observation(patient: patients[index % patients.count], value: 60 + index % 40)
            let reply = try await server.send(.POST, "/fhir/Observation", body: body, contentType: "application/fhir+json", expected: 201)
            ids.set(index, try JSONParser.parse(Array(buffer: reply))["id"]?.stringValue ?? "")
        }
        print(BenchHarness.Row(name: "POST /fhir/Observation (create)", clients: clients, result: create).text)
        let sample = try JSONParser.parse(Self.observation(patient: patients[0], value: 70))
        let raw = try await BenchHarness.measure(requests: requests, clients: clients) { index in
            try await Self.commit(store, type: "Observation", id: UUIDText.random(), document: sample, patientID: "Patient/\(patients[index % patients.count])")
        }
        print(BenchHarness.Row(name: "the store's commit, same rows (ceiling)", clients: clients, result: raw).text)
        let created = ids.all.filter { !$0.isEmpty }
        let read = try await BenchHarness.measure(requests: requests, clients: clients) { index in
            try await server.send(.GET, "/fhir/Observation/\(created[(index * 7919) % created.count])", expected: 200)
        }
        print(BenchHarness.Row(name: "GET /fhir/Observation/{id} (read)", clients: clients, result: read).text)
        let rawRead = try await BenchHarness.measure(requests: requests, clients: clients) { index in
            _ = try await store.latestVersion(objectID: "Observation/" + created[(index * 7919) % created.count])
        }
        print(BenchHarness.Row(name: "raw SQL read of the same row (ceiling)", clients: clients, result: rawRead).text)
        let vread = try await BenchHarness.measure(requests: requests, clients: clients) { index in
            try await server.send(.GET, "/fhir/Observation/\(created[(index * 7919) % created.count])/_history/1", expected: 200)
        }
        print(BenchHarness.Row(name: "GET …/_history/1 (vread)", clients: clients, result: vread).text)
        // Each request changes its own resource: client k of n takes every n-th.
        let update = try await BenchHarness.measure(requests: created.count, clients: clients) { index in
            let id = created[index % created.count]
            guard case .object(var object) = try JSONParser.parse(Self.observation(patient: patients[index % patients.count], value: 200 + index % 50)) else { return }
            object["id"] = .string(id)
            try await server.send(.PUT, "/fhir/Observation/\(id)", body: JSONSerializer.bytes(.object(object)), contentType: "application/fhir+json", expected: 200)
        }
        print(BenchHarness.Row(name: "PUT /fhir/Observation/{id} (update)", clients: clients, result: update).text)
        let patch = try await BenchHarness.measure(requests: created.count, clients: clients) { index in
            let body = Array(#"[{"op":"replace","path":"/valueQuantity/value","value":\#(300 + index % 50)}]"#.utf8)
            try await server.send(.PATCH, "/fhir/Observation/\(created[index % created.count])", body: body, contentType: "application/json-patch+json", expected: 200)
        }
        print(BenchHarness.Row(name: "PATCH /fhir/Observation/{id} (JSON Patch)", clients: clients, result: patch).text)
    }

    /// One version of a FHIR resource committed by the store as a
    /// contribution of its own: the same rows as the API writes (object,
    /// version, contribution, change, search-index rows), nothing checked.
    static func commit(_ store: VersionStore, type: String, id: String, document: JSON, patientID: String?) async throws {
        let (contribution, write) = contribution(type: type, id: id, document: document, bytes: JSONSerializer.bytes(document), patientID: patientID)
        try await store.commit(contribution, versions: [write])
    }

    static func contribution(type: String, id: String, document: JSON, bytes: [UInt8], patientID: String?) -> (ContributionRecord, VersionWrite) {
        let (contribution, version) = BenchHarness.version(ehrID: "", objectID: type + "/" + id, data: bytes)
        var record = version
        record.ehrID = nil
        record.patientID = patientID
        record.lifecycleState = VersionLifecycleState.complete.rawValue
        return (ContributionRecord(contributionID: contribution.contributionID, ehrID: nil, patientID: patientID, audit: contribution.audit),
            .create(record, rmType: type, document: document))
    }
}

/// Ids written by concurrent clients, each at its own index.
final class IDList: @unchecked Sendable {
    private var ids: [String]
    private let lock = NSLock()
    init(count: Int) { ids = Array(repeating: "", count: count) }
    func set(_ index: Int, _ id: String) { lock.withLock { if index < ids.count { ids[index] = id } } }
    var all: [String] { lock.withLock { ids } }
}

extension FHIRServerBench {
    /// The Synthea bundles through the import path (`FHIRImporter`, the
    /// API's transaction path), then the store committing the same rows: the
    /// resources as stored, under new ids, one contribution per bundle's worth.
    func importSynthea(_ components: SocleServer.Components) async throws {
        let files = Array(try FHIRImportFiles.list([folder]).prefix(2 + bundles))
        let parseStart = ContinuousClock.now
        let parsed = try files.map { try JSONParser.parse(try FHIRImportFiles.read($0.path)) }
        let parseSeconds = (ContinuousClock.now - parseStart).benchSeconds
        let importer = FHIRImporter(service: components.fhirService)
        let committal = Committal(committer: .identified(name: "bench"), description: "bench fhir-server import")
        var report = FHIRImporter.Report()
        let start = ContinuousClock.now
        for (file, bundle) in zip(files, parsed) { report.add(await importer.importBundle(bundle, source: file.path, committal: committal)) }
        let seconds = (ContinuousClock.now - start).benchSeconds
        guard report.refused.isEmpty else { throw BenchError("the import refused: \(report.refused.prefix(3).joined(separator: "\n"))") }

        let store = components.store.versions
        var stored: [(type: String, document: JSON, bytes: [UInt8], patient: String?)] = []
        for type in report.created.keys.sorted() {
            let ids = try await store.objects(rmType: type).filter { $0.ehrID == nil }.map(\.objectID)
            for record in try await store.latestVersions(objectIDs: ids).values {
                stored.append((type, try JSONParser.parse(record.data), record.data, record.patientID))
            }
        }
        let perContribution = max(1, stored.count / max(1, parsed.count))
        let rawStart = ContinuousClock.now
        for start in stride(from: 0, to: stored.count, by: perContribution) {
            var contribution: ContributionRecord?
            var writes: [VersionWrite] = []
            for item in stored[start..<min(start + perContribution, stored.count)] {
                let (made, write) = Self.contribution(type: item.type, id: UUIDText.random(), document: item.document, bytes: item.bytes, patientID: item.patient)
                var record = write.record
                contribution = contribution ?? made
                record.contributionID = contribution?.contributionID ?? ""
                writes.append(.create(record, rmType: item.type, document: item.document))
            }
            if let contribution { try await store.commit(contribution, versions: writes) }
        }
        let rawSeconds = (ContinuousClock.now - rawStart).benchSeconds
        print("Synthea import: \(files.count) bundles, \(report.resources) resources (parsing the files first: \(String(format: "%.1f", parseSeconds)) s, not counted)")
        print("what".padding(toLength: 52, withPad: " ", startingAt: 0) + "resources".leftPadded(10) + "seconds".leftPadded(9) + "per second".leftPadded(12))
        for (name, count, time) in [("import (transactions, as socle import fhir)", report.resources, seconds), ("the store's commit, same rows (ceiling)", stored.count, rawSeconds)] {
            print(name.padding(toLength: 52, withPad: " ", startingAt: 0) + "\(count)".leftPadded(10) + String(format: "%.1f", time).leftPadded(9)
                + String(format: "%.0f", Double(count) / time).leftPadded(12))
        }
        print("")
    }
}

extension Duration {
    var benchSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
