import FHIR
import Foundation
import JSONCore
import Services
import SocleTestSupport
import Storage
import Testing

/// The 122 Synthea bundles of the corpus through the import path (the
/// transaction path of the API): the two `0-…` batches of organisations,
/// locations and practitioners first, then the 120 patients' transactions,
/// whose conditional references name them. Once per engine.
@Suite("FHIR: the Synthea import")
struct SyntheaImportTests {
    @Test(arguments: TestEngine.available)
    func theCorpusImportsWholeWithEveryReferenceResolved(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let importer = FHIRImporter(service: FHIRService(store: database.store, systemID: "socle.test"))
            let committal = Committal(committer: .identified(name: "import"))
            let files = try FHIRImportFiles.list([Corpus.root.appendingPathComponent("fhir/synthea").path])
            #expect(files.count == 122)
            var report = FHIRImporter.Report()
            for file in files {
                report.add(await importer.importBundle(try JSONParser.parse(try FHIRImportFiles.read(file.path)), source: file.path, committal: committal))
            }
            #expect(report.refused.isEmpty, "\(report.refused.prefix(10).joined(separator: "\n"))")
            #expect(report.resources == 92_114)
            let expected = ["Patient": 120, "Observation": 42_929, "Encounter": 4_769, "Condition": 1_597, "DiagnosticReport": 8_229, "MedicationRequest": 5_087]
            for (type, count) in expected {
                #expect(report.created[type] == count, "\(type) created")
                #expect(try await database.store.versions.count(rmType: type) == count, "\(type) stored")
            }
            // Each patient has its EHR, linked to it (FHIRPatientEHRTests).
            #expect(try await database.store.versions.count(rmType: "EHR_STATUS") == 120)
            let dangling = try await database.store.fhirSearch.danglingReferences(limit: 10)
            #expect(dangling.isEmpty, "\(dangling)")
            try await Self.searchTheImport(FHIRService(store: database.store, systemID: "socle.test"))
            let patientFile = try #require(files.first { !($0.path as NSString).lastPathComponent.hasPrefix("0-") })
            try await Self.everythingMatchesTheBundle(
                JSONParser.parse(try FHIRImportFiles.read(patientFile.path)), FHIRService(store: database.store, systemID: "socle.test"))
        }
    }
    /// Searches on the imported set (issue 14): the patients by gender, the
    /// Observations counted, and every Observation exactly once over the `next` pages.
    static func searchTheImport(_ service: FHIRService) async throws {
        #expect(try await service.search(type: "Patient", query: "gender=male&_summary=count").total == 56)
        #expect(try await service.search(type: "Patient", query: "gender=female&_summary=count").total == 64)
        var seen: Set<String> = []
        var pages = 0
        var after: String? = nil
        repeat {
            let page = try await service.search(type: "Observation", query: "_count=1000&_total=none" + (after.map { "&_page=\($0)" } ?? ""))
            for match in page.matches { #expect(seen.insert(match.id).inserted, "\(match.id) came twice") }
            after = page.next
            pages += 1
        } while after != nil
        #expect(seen.count == 42_929 && pages == 43)
    }
    /// `Patient/{id}/$everything` of one imported patient holds exactly the
    /// resources of that patient's bundle, and the practitioners,
    /// organisations and locations they name, counted from the bundle itself.
    static func everythingMatchesTheBundle(_ bundle: JSON, _ service: FHIRService) async throws {
        let resources = (bundle["entry"]?.arrayValue ?? []).compactMap { $0["resource"] }
        let patient = try #require(resources.first { $0["resourceType"]?.stringValue == "Patient" }?["id"]?.stringValue)
        var members: Set<String> = []
        var included: Set<String> = []
        var after: String? = nil
        repeat {
            let page = try await service.everything(patient: patient, query: "_count=500" + (after.map { "&_page=\($0)" } ?? ""))
            members.formUnion(page.matches.map(\.reference))
            included.formUnion(page.included.map(\.reference))
            after = page.next
        } while after != nil
        // The bundle's resources of the types the Patient compartment holds
        // (R4 CompartmentDefinition: not Medication, not Device), the patient too.
        let compartment = FHIRSchema.r4.compartments["Patient"] ?? [:]
        func reference(_ resource: JSON) -> String { "\(resource["resourceType"]?.stringValue ?? "")/\(resource["id"]?.stringValue ?? "")" }
        let expected = Set(resources.filter { resource in
            let type = resource["resourceType"]?.stringValue ?? ""
            return type == "Patient" || !(compartment[type] ?? []).isEmpty
        }.map(reference))
        #expect(expected.count > 1_000 && members == expected, "\(members.symmetricDifference(expected).sorted().prefix(10))")
        let medications = Set(resources.filter { $0["resourceType"]?.stringValue == "Medication" }.map(reference))
        let named = Set(included.map { String($0.prefix { $0 != "/" }) })
        #expect(!medications.isEmpty && medications.isSubset(of: included))
        #expect(named.isSubset(of: ["Practitioner", "PractitionerRole", "Organization", "Location", "Medication"]) && named.contains("Practitioner"), "\(named)")
    }
}
