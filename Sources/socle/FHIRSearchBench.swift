import ArgumentParser
import Foundation
import JSONCore
import OpenEHR
import Server
import Services
import SocleDataSet
import Storage

/// `socle bench fhir-search`: FHIR searches over the Synthea set (or
/// several copies of it, `socle seed fhir`), each through the HTTP API with
/// p50 and p99, beside the search's own statement run directly on the
/// database, and two baselines of the same run: `SELECT 1` and the trivial
/// endpoint of the same server.
struct FHIRSearchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir-search", abstract: "FHIR searches and $everything over the Synthea set, or copies of it.")

    @Option(help: "Folder of Synthea bundles.") var folder = "../shared/corpus/fhir/synthea"
    @Option(help: "Copies of the Synthea patients in the data set (10: about 920,000 resources).") var copies = 1
    @Option(help: "Database URL; one that already holds the data set is reused. Default: a fresh SQLite file in a temporary folder.")
    var database: String?
    @Option(help: "Runs per search, each for a patient drawn at random.") var runs = 100
    @Option(help: "Port for the benchmark server on 127.0.0.1.") var port = 18_093

    /// Each search: a name and its path, `{patient}` standing for a patient's id.
    static let searches: [(String, String)] = [
        ("patient: heart rates, newest first", "Observation?subject=Patient/{patient}&code=http://loinc.org|8867-4&_sort=-date"),
        ("patient: compartment, Conditions", "Patient/{patient}/Condition"),
        ("population: heart rates (count)", "Observation?code=http://loinc.org|8867-4&_summary=count"),
        ("population: Observations of 2019 (count)", "Observation?date=ge2019-01-01&date=lt2020-01-01&_summary=count"),
        ("population: female patients born before 1950 (count)", "Patient?gender=female&birthdate=lt1950-01-01&_summary=count"),
        (
            "chain: heart rates by patient identifier",
            "Observation?subject:Patient.identifier=https://github.com/synthetichealth/synthea|{patient}&code=http://loinc.org|8867-4"
        ),
        ("_has: the patient if they have an Encounter", "Patient?_id={patient}&_has:Encounter:patient:status=finished"),
        ("_include: encounters with their practitioners", "Encounter?patient=Patient/{patient}&_include=Encounter:practitioner"),
        ("_revinclude: the patient with their conditions", "Patient?_id={patient}&_revinclude=Condition:patient"),
        ("$everything of a patient", "Patient/{patient}/$everything"),
    ]

    func run() async throws {
        let server = try await BenchServer(database: database, port: port)
        let components = server.components
        let store = components.store
        print("Socle \(SocleServer.version) — bench fhir-search, database \(store.kind.rawValue), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        var patients = try await Self.patients(components.fhirService)
        if patients.count < 100 * copies {
            print("importing \(copies) cop\(copies == 1 ? "y" : "ies") of the Synthea patients from \(folder) …")
            let started = ContinuousClock.now
            let report = try await SeedFHIR.seed(components.fhirService, folder: folder, copies: copies)
            let seconds = (ContinuousClock.now - started).seconds
            print("  \(report.resources) resources in \(String(format: "%.0f", seconds)) s (\(Int(Double(report.resources) / seconds))/s), \(report.refused.count) refused")
            try await store.analyze()
            patients = try await Self.patients(components.fhirService)
        }
        let search = components.fhirService.search
        let observations = try await search.count(FHIRCriteria(type: "Observation", conditions: []))
        let resources = try await store.fhirSearch.resourceCount()
        print("data set: \(patients.count) patients, \(observations) Observations, \(resources) FHIR resources\n")
        print("search".padding(toLength: 56, withPad: " ", startingAt: 0) + "results".leftPadded(8) + "p50 ms".leftPadded(9) + "p99 ms".leftPadded(9)
            + "SQL p50".leftPadded(9) + "SQL p99".leftPadded(9))
        var random = SplitMix(seed: 11)
        for (name, template) in Self.searches {
            var results = 0
            let http = try await AQLBench.measure(runs: runs) {
                let path = template.replacingOccurrences(of: "{patient}", with: patients[Int(random.double() * Double(patients.count))])
                let body = try await server.send(.GET, "/fhir/" + path.replacingOccurrences(of: "|", with: "%7C"), expected: 200)
                let bundle = try JSONParser.parse(Array(buffer: body))
                results = bundle["entry"]?.arrayValue?.count ?? 0
                if path.contains("_summary=count"), case .number(let total)? = bundle["total"] { results = Int(total) ?? 0 }
            }
            let sql = try await AQLBench.measure(runs: runs) {
                let path = template.replacingOccurrences(of: "{patient}", with: patients[Int(random.double() * Double(patients.count))])
                for statement in try Self.statements(components.fhirService, path) { _ = try await store.fhirSearch.run(statement) }
            }
            print(name.padding(toLength: 56, withPad: " ", startingAt: 0) + "\(results)".leftPadded(8) + AQLBench.ms(http.p50).leftPadded(9)
                + AQLBench.ms(http.p99).leftPadded(9) + AQLBench.ms(sql.p50).leftPadded(9) + AQLBench.ms(sql.p99).leftPadded(9))
        }
        let ping = try await AQLBench.measure(runs: runs) { try await store.ping() }
        let status = try await AQLBench.measure(runs: runs) { try await server.send(.GET, "/status", expected: 200) }
        print("\nbaselines: SELECT 1 p50 \(AQLBench.ms(ping.p50)) ms, p99 \(AQLBench.ms(ping.p99)) ms; GET /status p50 \(AQLBench.ms(status.p50)) ms, p99 \(AQLBench.ms(status.p99)) ms")
        print("(results: the entries of the last page read, or the total of a count; \"SQL\": the search's statement for its page or its count, run alone;")
        print(" for $everything, the statement that finds the patient's compartment)")
        try await server.stop()
    }

    /// The statements of a search path, as the service would run them for its page (or its count).
    static func statements(_ service: FHIRService, _ path: String) throws -> [RenderedQuery] {
        let (resource, query) = path.split(separator: "?", maxSplits: 1).map(String.init).splitPair
        let parts = resource.split(separator: "/").map(String.init)
        if parts.count == 3, parts[2] == "$everything" { return [FHIRSearchStore.referencesStatement(to: "Patient/" + parts[1])] }
        if parts.count == 3 {
            let (page, _) = try service.statements(type: parts[2], query: query + "&_total=none", compartment: (parts[0], parts[1]))
            return page.map { [$0] } ?? []
        }
        let (page, count) = try service.statements(type: resource, query: query + (query.contains("_summary=count") ? "" : "&_total=none"))
        return [page, count].compactMap { $0 }
    }

    /// Every Patient's id, a page of a thousand at a time.
    static func patients(_ service: FHIRService) async throws -> [String] {
        var ids: [String] = []
        var after = ""
        while true {
            let page = try await service.search(type: "Patient", query: "_count=1000&_total=none" + (after.isEmpty ? "" : "&_page=" + after))
            ids += page.matches.map(\.id)
            guard let next = page.next else { return ids }
            after = next
        }
    }
}

extension Array where Element == String {
    /// The first two elements, the second empty when missing.
    fileprivate var splitPair: (String, String) { (first ?? "", count > 1 ? self[1] : "") }
}
