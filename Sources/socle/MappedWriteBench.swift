import ArgumentParser
import Foundation
import JSONCore
import Server

/// `socle bench mapped-writes` (issue 15 §7): a body weight created through
/// FHIR and stored as a composition by a mapping, beside, in the same run,
/// an unmapped Observation (a heart rate, stored as a FHIR resource), the
/// same composition committed through openEHR, and the trivial endpoint, at
/// each concurrency level; then reading the mapped resources back.
struct MappedWriteBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapped-writes", abstract: "FHIR writes stored as compositions through a mapping, beside unmapped and openEHR writes.")

    @Option(help: "A folder of FHIRconnect files with a body-weight context.") var mappings = "Tests/ServerTests/Fixtures/mappings/body-weight"
    @Option(help: "The OPT the context maps.") var template = "../shared/corpus/openehr/templates/valid/all_types/cistec.openehr.body_weight.v1.opt"
    @Option(help: "Requests per level and interaction.") var requests = 1000
    @Option(help: "Database URL; default: a fresh SQLite file in a temporary folder.") var database: String?
    @Option(help: "Port for the benchmark server on 127.0.0.1.") var port = 18_093
    @Option(help: "Concurrency levels.") var concurrency: [Int] = [1, 8]

    func run() async throws {
        let folder = mappings
        let server = try await BenchServer(database: database, port: port) { $0.mappings = .folder(folder) }
        print("Socle \(SocleServer.version) — bench mapped-writes, database \(server.components.store.kind.rawValue), \(ProcessInfo.processInfo.activeProcessorCount) cores\n")
        let opt = try Array(Data(contentsOf: URL(fileURLWithPath: template)))
        try await server.send(.POST, "/openehr/v1/definition/template/adl1.4", body: opt, contentType: "application/xml", expected: 201)
        var made: [(id: String, ehr: String)] = []
        for _ in 0..<32 {
            let created = try await server.send(.POST, "/fhir/Patient", body: Array(#"{"resourceType": "Patient"}"#.utf8), contentType: "application/fhir+json", expected: 201)
            let id = try JSONParser.parse(Array(buffer: created))["id"]?.stringValue ?? ""
            let ehr = try await server.send(.GET, "/openehr/v1/ehr?subject_id=\(id)&subject_namespace=fhir", expected: 200)
            made.append((id, try JSONParser.parse(Array(buffer: ehr))["ehr_id"]?["value"]?.stringValue ?? ""))
        }
        let patients = made
        // The composition the mapping makes, as an openEHR client would commit it.
        let first = try await server.send(.POST, "/fhir/Observation", body: Self.bodyWeight(patient: patients[0].id, kg: 70), contentType: "application/fhir+json", expected: 201)
        let id = try JSONParser.parse(Array(buffer: first))["id"]?.stringValue ?? ""
        let composition = try await server.send(
            .GET, "/openehr/v1/ehr/\(patients[0].ehr)/composition/\(id.dropLast(2))", expected: 200)
        guard case .object(var canonical) = try JSONParser.parse(Array(buffer: composition)) else { throw ValidationError("no composition") }
        canonical["uid"] = nil
        canonical["feeder_audit"] = nil
        let openEHRBody = JSONSerializer.bytes(.object(canonical))

        print(BenchHarness.Row.header)
        for clients in concurrency {
            let trivial = try await BenchHarness.measure(requests: requests, clients: clients) { _ in try await server.send(.GET, "/status", expected: 200) }
            print(BenchHarness.Row(name: "GET /status (ceiling: trivial endpoint)", clients: clients, result: trivial).text)
            let mapped = try await BenchHarness.measure(requests: requests, clients: clients) { index in
                let body = Self.bodyWeight(patient: patients[index % patients.count].id, kg: 60 + Double(index % 40))
                try await server.send(.POST, "/fhir/Observation", body: body, contentType: "application/fhir+json", expected: 201)
            }
            print(BenchHarness.Row(name: "POST body weight (mapped: a composition)", clients: clients, result: mapped).text)
            let unmapped = try await BenchHarness.measure(requests: requests, clients: clients) { index in
                let body = FHIRServerBench.observation(patient: patients[index % patients.count].id, value: 60 + index % 40)
                try await server.send(.POST, "/fhir/Observation", body: body, contentType: "application/fhir+json", expected: 201)
            }
            print(BenchHarness.Row(name: "POST heart rate (unmapped: FHIR resource)", clients: clients, result: unmapped).text)
            let openEHR = try await BenchHarness.measure(requests: requests, clients: clients) { index in
                try await server.send(
                    .POST, "/openehr/v1/ehr/\(patients[index % patients.count].ehr)/composition", body: openEHRBody, expected: 201)
            }
            print(BenchHarness.Row(name: "POST the same composition (openEHR)", clients: clients, result: openEHR).text)
            let search = try await BenchHarness.measure(requests: requests / 4, clients: clients) { index in
                try await server.send(.GET, "/fhir/Observation?code=http://loinc.org|29463-7&patient=\(patients[index % patients.count].id)&_count=10", expected: 200)
            }
            print(BenchHarness.Row(name: "search body weights of a patient (10 a page)", clients: clients, result: search).text)
        }
        try await server.stop()
    }

    static func bodyWeight(patient: String, kg: Double) -> [UInt8] {
        Array(
            #"{"resourceType":"Observation","meta":{"profile":["http://hl7.org/fhir/StructureDefinition/bodyweight"]},"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},"subject":{"reference":"Patient/\#(patient)"},"effectiveDateTime":"2026-12-04T10:00:00Z","issued":"2026-12-04T10:00:01Z","valueQuantity":{"value":\#(kg),"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}"#
                .utf8)
    }
}
