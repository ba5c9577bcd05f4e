import ArgumentParser
import AsyncHTTPClient
import Foundation
import JSONCore
import AQL
import OpenEHR
import Server
import Storage
import Templates

/// `socle bench composition`: validated compositions committed per second
/// through the HTTP API (a blood pressure composition and the International
/// Patient Summary from the corpus) at 1, 8 and 32 clients, beside the raw
/// SQL inserts of the same rows; then reads by id with many compositions stored,
/// beside the raw SQL read of the same row and a trivial endpoint.
struct CompositionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "composition", abstract: "Composition commits and reads through the HTTP API.")

    @Option(help: "The shared corpus folder.") var corpus = "../shared/corpus"
    @Option(help: "Commits per level of the small composition.") var requests = 2000
    @Option(help: "Commits per level of the large composition.") var largeRequests = 200
    @Option(help: "Compositions stored before the read benchmark.") var stored = 100_000
    @Option(help: "Reads per level.") var reads = 5000
    @Option(help: "Database URL; default: a fresh SQLite file in a temporary folder.") var database: String?
    @Option(help: "Port for the benchmark server on 127.0.0.1.") var port = 18_090
    @Option(help: "Concurrency levels.") var concurrency: [Int] = [1, 8, 32]
    @Option(help: "Seconds of POSTs from wrk (an external load generator, if on the PATH) per composition and level; 0 leaves it out.")
    var wrkSeconds = 0

    func run() async throws {
        let root = URL(fileURLWithPath: corpus).appendingPathComponent("openehr")
        let server = try await BenchServer(database: database, port: port)
        let components = server.components
        for template in ["templates/valid/aql_data_load/ehrbase_blood_pressure_simple.de.v0.opt", "templates/valid/all_types/International_Patient_Summary.opt"] {
            try await server.send(.POST, "/openehr/v1/definition/template/adl1.4", body: Array(try Data(contentsOf: root.appendingPathComponent(template))), contentType: "application/xml", expected: 201)
        }
        var ehrs: [String] = []
        for _ in 0..<32 {
            var request = HTTPClientRequest(url: server.base + "/openehr/v1/ehr")
            request.method = .POST
            request.headers.add(name: "Authorization", value: server.authorization)
            let response = try await server.client.execute(request, timeout: .seconds(10))
            ehrs.append(String(response.headers.first(name: "Location")?.split(separator: "/").last ?? ""))
        }
        let ehrIDs = ehrs
        let small = try Self.withoutUID(root.appendingPathComponent("compositions/canonical_json/aql_data_load/ehrbase_blood_pressure_simple.de.v0.json"))
        let large = try Self.withoutUID(root.appendingPathComponent("compositions/canonical_json/openEHR_SDK/ips_canonical.json"))

        print("Socle \(SocleServer.version) — bench composition, database \(components.store.kind.rawValue), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("compositions: blood pressure \(small.count) bytes, International Patient Summary \(large.count) bytes; \(ehrIDs.count) EHRs\n")
        try await Self.printStages(server.components, [("blood pressure", small), ("IPS", large)])
        // The ceiling commits the decoded composition through the store: its AQL index rows too, as a commit does.
        let decoder = CanonicalDecoder()
        let smallTree = try decoder.decode(try JSONParser.parse(small), as: "COMPOSITION")
        let largeTree = try decoder.decode(try JSONParser.parse(large), as: "COMPOSITION")
        print("index rows: blood pressure \(NodeProjection.rows(of: smallTree).count), International Patient Summary \(NodeProjection.rows(of: largeTree).count)\n")
        // The blood pressure composition in FLAT, as a form would send it (the same composition read back through the web template).
        let pressureTemplate = try OPTParser().parse(Data(contentsOf: root.appendingPathComponent("templates/valid/aql_data_load/ehrbase_blood_pressure_simple.de.v0.opt")))
        let smallFlat = JSONSerializer.bytes(.object(FlatComposition(template: pressureTemplate).flat(try decoder.decode(try JSONParser.parse(small), as: "COMPOSITION"))))
        print(BenchHarness.Row.headerWithCPU)
        var growth: [String] = []
        for (name, body, count, tree) in [("blood pressure", small, requests, smallTree), ("IPS", large, largeRequests, largeTree)] {
            let (bytesBefore, storedBefore) = (try await components.store.databaseBytes(), try await components.store.versions.count(rmType: "COMPOSITION"))
            for clients in concurrency {
                let groupsBefore = Self.groupCommits()
                let api = try await BenchHarness.measure(requests: count, clients: clients) { index in
                    try await server.send(.POST, "/openehr/v1/ehr/\(ehrIDs[index % ehrIDs.count])/composition", body: body, expected: 201)
                }
                print(BenchHarness.Row(name: "POST composition, \(name)", clients: clients, result: api).textWithCPU)
                if components.store.kind == .sqlite { print(Self.grouping(since: groupsBefore, commits: api.operations)) }
                if wrkSeconds > 0 {
                    let external = try await WrkLoad.post(
                        base: server.base, paths: ehrIDs.map { "/openehr/v1/ehr/\($0)/composition" }, body: body,
                        headers: [("Authorization", server.authorization), ("Content-Type", "application/json")], connections: clients, seconds: wrkSeconds)
                    print(BenchHarness.Row(name: "POST composition, \(name), from wrk", clients: clients, result: external).textWithCPU)
                }
                if name == "blood pressure" {
                    let flat = try await BenchHarness.measure(requests: count, clients: clients) { index in
                        try await server.send(
                            .POST, "/openehr/v1/ehr/\(ehrIDs[index % ehrIDs.count])/composition?format=FLAT&templateId=ehrbase_blood_pressure_simple.de.v0",
                            body: smallFlat, expected: 201)
                    }
                    print(BenchHarness.Row(name: "POST composition in FLAT, \(name)", clients: clients, result: flat).textWithCPU)
                }
                let raw = try await BenchHarness.measure(requests: count, clients: clients) { number in
                    try await Self.commit(components.store.versions, ehrID: ehrIDs[number % ehrIDs.count], data: body, tree: tree)
                }
                print(BenchHarness.Row(name: "the store's commit, same rows (ceiling)", clients: clients, result: raw).textWithCPU)
            }
            let stored = try await components.store.versions.count(rmType: "COMPOSITION") - storedBefore
            let bytes = try await components.store.databaseBytes() - bytesBefore
            growth.append("\(name): \(bytes / max(1, stored)) bytes per composition (\(stored) committed, \(body.count) bytes of canonical JSON each)")
        }
        print("\ndatabase growth\n" + growth.joined(separator: "\n"))

        let store = components.store.versions
        let present = try await store.count(rmType: "COMPOSITION")
        let ids = try await Self.seed(store, count: max(0, stored - present), ehrIDs: ehrIDs, data: small, tree: smallTree)
        print("\nreads with \(ids.count) compositions stored")
        print(BenchHarness.Row.header)
        for clients in concurrency where clients <= 8 {
            let read = try await BenchHarness.measure(requests: reads, clients: clients) { index in
                let (ehr, object) = ids[(index * 7919) % ids.count]
                try await server.send(.GET, "/openehr/v1/ehr/\(ehr)/composition/\(object)", expected: 200)
            }
            print(BenchHarness.Row(name: "GET composition by id", clients: clients, result: read).text)
            let raw = try await BenchHarness.measure(requests: reads, clients: clients) { index in
                _ = try await store.latestVersion(objectID: ids[(index * 7919) % ids.count].1)
            }
            print(BenchHarness.Row(name: "raw SQL read of the same row (ceiling)", clients: clients, result: raw).text)
            let trivial = try await BenchHarness.measure(requests: reads, clients: clients) { _ in try await server.send(.GET, "/status", expected: 200) }
            print(BenchHarness.Row(name: "GET /status (ceiling: trivial endpoint)", clients: clients, result: trivial).text)
        }
        try await server.stop()
    }

    /// The SQLite writer's groups of several transactions so far, and the transactions in them (`PoolMetrics`).
    static func groupCommits() -> (groups: Int, transactions: Int) {
        let write = PoolMetrics.snapshot.first { $0.pool == "write" }
        return (write?.groups ?? 0, write?.groupedTransactions ?? 0)
    }

    /// How many of a phase's commits shared their transaction with others (group commit).
    static func grouping(since before: (groups: Int, transactions: Int), commits: Int) -> String {
        let now = groupCommits()
        let (groups, grouped) = (now.groups - before.groups, now.transactions - before.transactions)
        return "    written with others: \(grouped) of \(commits) commits, in \(groups) groups; \(commits - grouped + groups) transactions"
    }

    /// Where a commit's time goes before the database: parse, RM decoding,
    /// template validation, serialisation, the AQL index's rows, and its
    /// rows with their statements (microseconds per composition).
    static func printStages(_ components: SocleServer.Components, _ compositions: [(String, [UInt8])]) async throws {
        print("stage (µs per composition)          parse   RM decode   validate   serialise   index rows  index total")
        for (name, bytes) in compositions {
            let json = try JSONParser.parse(bytes)
            let tree = try CanonicalDecoder().decode(json, as: "COMPOSITION")
            guard let id = tree["archetype_details"]?["template_id"]?["value"]?.stringValue, let template = try await components.templateService.template(id) else {
                throw BenchError("no template for \(name)")
            }
            let validator = TemplateValidator()
            let passes = 50
            func micros(_ body: () throws -> Void) rethrows -> Double {
                let start = ContinuousClock.now
                for _ in 0..<passes { try body() }
                let elapsed = ContinuousClock.now - start
                return (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12) / Double(passes)
            }
            let parse = try micros { _ = try JSONParser.parse(bytes) }
            let decode = try micros { _ = try CanonicalDecoder().decode(json, as: "COMPOSITION") }
            let validate = micros { _ = validator.validate(tree, against: template) }
            let serialise = micros { _ = JSONSerializer.bytes(tree) }
            let rows = micros { _ = NodeProjection.rows(of: tree) }
            let record = BenchHarness.version(ehrID: UUIDText.random(), objectID: UUIDText.timeOrdered(), data: bytes).1
            let version = ProjectedVersion(record: record, rmType: "COMPOSITION", templateID: id, isCreation: true, document: tree)
            let statements = micros { _ = AQLIndexProjection().statements(for: version, components.store.kind) }
            print(
                name.padding(toLength: 34, withPad: " ", startingAt: 0)
                    + String(format: "%8.0f%12.0f%11.0f%12.0f%13.0f%12.0f", parse, decode, validate, serialise, rows, statements))
        }
        print("")
    }

    static func withoutUID(_ url: URL) throws -> [UInt8] {
        guard case .object(var object) = try JSONParser.parse(Array(try Data(contentsOf: url))) else { throw BenchError("\(url.path) is not an object") }
        object["uid"] = nil
        return JSONSerializer.bytes(.object(object))
    }

    /// What one composition commit writes (the EHR guard, contribution and
    /// its change, versioned object, version with the same bytes, its AQL
    /// index rows), committed by the store with the decoded tree at hand: no
    /// HTTP, no parsing or validation.
    static func commit(_ store: VersionStore, ehrID: String, data: [UInt8], tree: JSON) async throws {
        let (contribution, write) = contribution(ehrID: ehrID, data: data, tree: tree)
        try await store.commit(contribution, versions: [write], ehrChange: .requireModifiable)
    }

    static func contribution(ehrID: String, data: [UInt8], tree: JSON) -> (ContributionRecord, VersionWrite) {
        let (contribution, version) = BenchHarness.version(ehrID: ehrID, objectID: UUIDText.timeOrdered(), data: data)
        return (contribution, .create(version, rmType: "COMPOSITION", templateID: "ehrbase_blood_pressure_simple.de.v0", document: tree))
    }

    /// Stores `count` more compositions, 1,000 contributions per transaction;
    /// returns (EHR id, object id) of every stored composition.
    static func seed(_ store: VersionStore, count: Int, ehrIDs: [String], data: [UInt8], tree: JSON) async throws -> [(String, String)] {
        var remaining = count
        var index = 0
        while remaining > 0 {
            let batch = min(1000, remaining)
            var contributions: [(contribution: ContributionRecord, versions: [VersionWrite], ehrChanges: [EHRChange])] = []
            for _ in 0..<batch {
                let (contribution, write) = Self.contribution(ehrID: ehrIDs[index % ehrIDs.count], data: data, tree: tree)
                contributions.append((contribution, [write], []))
                index += 1
            }
            try await store.commit(batch: contributions)
            remaining -= batch
        }
        return try await store.objects(rmType: "COMPOSITION").map { ($0.ehrID ?? "", $0.objectID) }
    }
}
