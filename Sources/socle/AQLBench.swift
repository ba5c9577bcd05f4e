import ArgumentParser
import Foundation
import JSONCore
import Logging
import OpenEHR
import Server
import SocleDataSet
import Services
import Storage

/// `socle bench aql`: patient-level and population AQL queries over a
/// seeded data set, p50 and p99 each, beside the same compiled SQL run
/// directly on the database (the floor: what the index costs without
/// Socle's parsing, compiling and result building) in the same run.
struct AQLBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "aql", abstract: "AQL queries over a seeded data set.")

    @Option(help: "EHRs in the data set.") var ehrs = 1000
    @Option(name: .customLong("compositions-per-ehr"), help: "Compositions per EHR.") var compositionsPerEHR = 100
    @Option(help: "Database URL; an existing database that already holds the data set is reused. Default: a fresh SQLite file.") var database: String?
    @Option(help: "Seed from this corpus folder instead of the files built into Socle.") var corpus: String?
    @Option(help: "Runs per query.") var runs = 30
    @Option(help: "Concurrent writers while seeding.") var concurrency = 4

    static let bloodPressure =
        "OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]"
    static let systolic = "o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude"
    static let diastolic = "o/data[at0001]/events[at0002]/data[at0003]/items[at0005]/value/magnitude"

    static let queries: [(String, String)] = [
        (
            "patient: one EHR's last 10 blood pressures",
            "SELECT c/context/start_time/value AS time, \(systolic) AS systolic, \(diastolic) AS diastolic FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c CONTAINS \(bloodPressure) ORDER BY c/context/start_time/value DESC LIMIT 10"
        ),
        (
            "population: EHRs with systolic > 140 in a half-year (COUNT)",
            "SELECT COUNT(DISTINCT e/ehr_id/value) AS patients FROM EHR e CONTAINS COMPOSITION c CONTAINS \(bloodPressure) WHERE \(systolic) > 140 AND c/context/start_time/value >= '2025-01-01T00:00:00Z' AND c/context/start_time/value < '2025-07-01T00:00:00Z'"
        ),
        (
            "patient EXISTS: one EHR's compositions without vital signs",
            "SELECT c/uid/value, c/context/start_time/value FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c WHERE NOT EXISTS c/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] ORDER BY c/context/start_time/value"
        ),
        (
            "population ORDER BY: the 20 highest systolic pressures",
            "SELECT e/ehr_id/value, \(systolic) AS systolic FROM EHR e CONTAINS COMPOSITION c CONTAINS \(bloodPressure) ORDER BY \(systolic) DESC LIMIT 20"
        ),
        (
            // Issue 19 §1: the same population, one condition on a value the index has no column for.
            "population, + o/language (stored JSON, not indexed)",
            "SELECT COUNT(DISTINCT e/ehr_id/value) AS patients FROM EHR e CONTAINS COMPOSITION c CONTAINS \(bloodPressure) WHERE \(systolic) > 140 AND o/language/code_string = 'de' AND c/context/start_time/value >= '2025-01-01T00:00:00Z' AND c/context/start_time/value < '2025-07-01T00:00:00Z'"
        ),
        (
            // Two values of one document: parsed once per row (PostgreSQL's LATERAL; SQLite's own cache).
            "population, + o/language and o/encoding (stored JSON)",
            "SELECT COUNT(DISTINCT e/ehr_id/value) AS patients FROM EHR e CONTAINS COMPOSITION c CONTAINS \(bloodPressure) WHERE \(systolic) > 140 AND o/language/code_string = 'de' AND o/encoding/code_string = 'UTF-8' AND c/context/start_time/value >= '2025-01-01T00:00:00Z' AND c/context/start_time/value < '2025-07-01T00:00:00Z'"
        ),
        (
            "patient, last 10 with o/language (stored JSON)",
            "SELECT c/context/start_time/value, \(systolic) FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c CONTAINS \(bloodPressure) WHERE o/language/code_string = 'de' ORDER BY c/context/start_time/value DESC LIMIT 10"
        ),
    ]

    func run() async throws {
        var logger = Logger(label: "socle.bench")
        logger.logLevel = .warning
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-bench-\(UUIDText.random())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = database ?? "sqlite:\(folder.path)/aql.sqlite"
        let components = try await SocleServer.open(ServerConfiguration(databaseURL: url, systemID: "bench.socle"), logger: logger)
        let store = components.store
        // A database built by an older Socle: its index is rebuilt first (as socle reindex would).
        for state in try await store.projections.states() where state.phase != .current {
            let started = ContinuousClock.now
            try await store.projections.rebuild(state.name, owner: "bench", force: false)
            let seconds = Self.seconds(ContinuousClock.now - started)
            print("rebuilt projection \(state.name) from the stored versions in \(String(format: "%.1f", seconds)) s")
        }
        let wanted = ehrs * compositionsPerEHR
        let present = try await store.aql.size().compositions
        print("Socle \(SocleServer.version) — bench aql, database \(store.kind.rawValue), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        if present < wanted {
            print("seeding \(ehrs) EHRs × \(compositionsPerEHR) compositions through the composition service …")
            let started = Date()
            let written = try await DataSet(corpus: corpus.map { URL(fileURLWithPath: $0) }).seed(
                components, ehrs: ehrs, compositionsPerEHR: compositionsPerEHR, concurrency: concurrency, seed: 1
            ) { _ in }
            let seconds = Date().timeIntervalSince(started)
            print("  \(written) compositions in \(String(format: "%.0f", seconds)) s (\(Int(Double(written) / seconds))/s)")
            // Fresh statistics for the planner, once after seeding (minutes at a million compositions).
            try await store.analyze()
        }
        let (compositions, nodes) = try await store.aql.size()
        let ehrIDs = try await store.versions.ehrIDs()
        print("data set: \(ehrIDs.count) EHRs, \(compositions) compositions, \(nodes) index rows\n")
        let service = components.queryService
        print("query".padding(toLength: 62, withPad: " ", startingAt: 0) + "rows".leftPadded(6) + "p50 ms".leftPadded(10) + "p99 ms".leftPadded(10)
            + "SQL p50".leftPadded(10) + "SQL p99".leftPadded(10))
        var random = SplitMix(seed: 7)
        let trivial = try await Self.measure(runs: runs) { try await store.ping() }
        for (name, q) in Self.queries {
            var rows = 0
            let socle = try await Self.measure(runs: runs) {
                let ehrID = ehrIDs[Int(random.double() * Double(ehrIDs.count))]
                let result = try await service.execute(QueryService.Request(q: q, parameters: ["ehr_id": .string(ehrID)]))
                rows = result["rows"]?.arrayValue?.count ?? 0
            }
            let sql = try await Self.measure(runs: runs) {
                let ehrID = ehrIDs[Int(random.double() * Double(ehrIDs.count))]
                // The statement the service runs first (for a page of the highest values, the values-only one).
                let request = QueryService.Request(q: q, parameters: ["ehr_id": .string(ehrID)])
                let valuesFirst = QueryService.ordersByValuesDescending(try service.check(q).query)
                let plan = try service.plan(request, orderedValuesOnly: valuesFirst)
                _ = try await store.aql.runStatement(try store.aql.render(plan))
            }
            print(
                name.padding(toLength: 62, withPad: " ", startingAt: 0) + "\(rows)".leftPadded(6) + Self.ms(socle.p50).leftPadded(10)
                    + Self.ms(socle.p99).leftPadded(10) + Self.ms(sql.p50).leftPadded(10) + Self.ms(sql.p99).leftPadded(10))
        }
        print("\nbaseline: SELECT 1 on the same database p50 \(Self.ms(trivial.p50)) ms, p99 \(Self.ms(trivial.p99)) ms")
        print("(\"SQL\": the planned statement alone, rendered and run directly; the query column is the whole service: parse, check, plan, run, read results)")
        try await store.close()
        if database == nil { try? FileManager.default.removeItem(at: folder) }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000) }

    static func measure(runs: Int, _ body: () async throws -> Void) async throws -> (p50: Double, p99: Double) {
        try await body()  // warm-up
        var times: [Double] = []
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try await body()
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        times.sort()
        return (times[times.count / 2], times[min(times.count - 1, Int(Double(times.count) * 0.99))])
    }
}
