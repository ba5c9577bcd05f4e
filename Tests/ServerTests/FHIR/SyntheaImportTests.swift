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
/// whose conditional references name them. Once per engine, with the
/// shipped mappings in force (issue 15 §5), as `socle import fhir` runs by
/// default: the vital signs and the conditions are stored as compositions,
/// one for each resource, each laboratory report with its results as one,
/// and every count and search below is the one the import without mappings gave.
@Suite("FHIR: the Synthea import")
struct SyntheaImportTests {
    /// The LOINC codes the shipped contexts take (a resource claiming
    /// none of their profiles is taken by its code), with the archetype of
    /// the observation each becomes.
    static let vitalSigns = [
        "29463-7": "openEHR-EHR-OBSERVATION.body_weight.v2", "8302-2": "openEHR-EHR-OBSERVATION.height.v2",
        "39156-5": "openEHR-EHR-OBSERVATION.body_mass_index.v2", "85354-9": "openEHR-EHR-OBSERVATION.blood_pressure.v2",
        "8867-4": "openEHR-EHR-OBSERVATION.pulse.v2", "9279-1": "openEHR-EHR-OBSERVATION.respiration.v2",
        "8310-5": "openEHR-EHR-OBSERVATION.body_temperature.v2", "2708-6": "openEHR-EHR-OBSERVATION.pulse_oximetry.v1",
    ]

    @Test(arguments: TestEngine.available)
    func theCorpusImportsWholeWithEveryReferenceResolved(engine: TestEngine) async throws {
        try await TestServer.with(engine, configure: { $0.mappings = .shipped }) { server in
            let database = server.database
            let service = try #require(server.components?.fhirService)
            let importer = FHIRImporter(service: service)
            let committal = Committal(committer: .identified(name: "import"))
            let files = try FHIRImportFiles.list([Corpus.root.appendingPathComponent("fhir/synthea").path])
            #expect(files.count == 122)
            var report = FHIRImporter.Report()
            var facts = BundleFacts()
            for file in files {
                let bundle = try JSONParser.parse(try FHIRImportFiles.read(file.path))
                facts.add(bundle)
                report.add(await importer.importBundle(bundle, source: file.path, committal: committal))
            }
            #expect(report.refused.isEmpty, "\(report.refused.prefix(10).joined(separator: "\n"))")
            #expect(report.resources == 92_114)
            // Each vital sign is a composition of its archetype, as many as the bundles have
            // (an oxygen saturation that is a result of a blood gas panel is an analyte of that report).
            var mapped = 0
            for (code, archetype) in Self.vitalSigns.sorted(by: { $0.key < $1.key }) {
                let expected = facts.observations.filter { $0.codes.contains("http://loinc.org|" + code) && !facts.laboratoryResultURLs.contains($0.url) }.count
                let query = "SELECT COUNT(*) FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[\(archetype)]"
                let answer = try await server.send(.post, "/openehr/v1/query/aql", body: JSONSerializer.string(.object(JSONObject([("q", .string(query))]))))
                #expect(answer.json["rows"]?.arrayValue?.first?.arrayValue?.first == JSON(expected), "\(code): \(answer.body.prefix(300))")
                #expect(expected > 100, "\(code)")
                mapped += expected
            }
            // Each Condition (none entered in error) is a problem_diagnosis composition.
            let diagnoses = "SELECT COUNT(*) FROM EHR e CONTAINS COMPOSITION c CONTAINS EVALUATION d[openEHR-EHR-EVALUATION.problem_diagnosis.v1]"
            let answer = try await server.send(.post, "/openehr/v1/query/aql", body: JSONSerializer.string(.object(JSONObject([("q", .string(diagnoses))]))))
            #expect(answer.json["rows"]?.arrayValue?.first?.arrayValue?.first == JSON(1_597), "\(answer.body.prefix(300))")
            // Each laboratory report is one composition with an analyte for each of its results.
            #expect(facts.laboratoryReports == 3_460 && facts.laboratoryResults == 27_410)
            for (archetype, count) in [("OBSERVATION o[openEHR-EHR-OBSERVATION.laboratory_test_result.v1]", 3_460), ("CLUSTER a[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1]", 27_410)] {
                let query = "SELECT COUNT(*) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(archetype)"
                let counted = try await server.send(.post, "/openehr/v1/query/aql", body: JSONSerializer.string(.object(JSONObject([("q", .string(query))]))))
                #expect(counted.json["rows"]?.arrayValue?.first?.arrayValue?.first == JSON(count), "\(archetype): \(counted.body.prefix(300))")
            }
            // The blood gas panels' oxygen saturations are analytes of their reports, not vital signs.
            let gases = facts.observations.filter { $0.codes.contains("http://loinc.org|2708-6") && facts.laboratoryResultURLs.contains($0.url) }.count
            let gasQuery = """
                SELECT COUNT(*) FROM EHR e CONTAINS COMPOSITION c CONTAINS CLUSTER a[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1]
                WHERE a/items[at0024]/value/defining_code/code_string = '2708-6'
                """
            let gasAnswer = try await server.send(.post, "/openehr/v1/query/aql", body: JSONSerializer.string(.object(JSONObject([("q", .string(gasQuery))]))))
            #expect(gases == 174 && gasAnswer.json["rows"]?.arrayValue?.first?.arrayValue?.first == JSON(gases), "\(gasAnswer.body.prefix(300))")
            #expect(try await database.store.versions.count(rmType: "COMPOSITION") == mapped + 1_597 + 3_460)
            let expected = ["Patient": 120, "Observation": 42_929, "Encounter": 4_769, "Condition": 1_597, "DiagnosticReport": 8_229, "MedicationRequest": 5_087]
            let compositions = ["Observation": mapped + 27_410, "Condition": 1_597, "DiagnosticReport": 3_460]
            for (type, count) in expected {
                #expect(report.created[type] == count, "\(type) created")
                // The mapped resources are compositions, not FHIR records.
                #expect(try await database.store.versions.count(rmType: type) == count - (compositions[type] ?? 0), "\(type) stored")
            }
            // Each patient has its EHR, linked to it (FHIRPatientEHRTests).
            #expect(try await database.store.versions.count(rmType: "EHR_STATUS") == 120)
            let dangling = try await database.store.fhirSearch.danglingReferences(limit: 10)
            #expect(dangling.isEmpty, "\(dangling)")
            try await Self.searchTheImport(service)
            try await Self.chainsMatchTheBundles(facts, service)
            let patientFile = try #require(files.first { !($0.path as NSString).lastPathComponent.hasPrefix("0-") })
            try await Self.everythingMatchesTheBundle(
                JSONParser.parse(try FHIRImportFiles.read(patientFile.path)), service)
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

    /// A chained search and a `_has` search (R4 search §Chained parameters,
    /// §Reverse chaining) on the imported set, their counts computed from the bundles.
    static func chainsMatchTheBundles(_ facts: BundleFacts, _ service: FHIRService) async throws {
        let heartRate = "http://loinc.org|8867-4"
        let women = Set(facts.gender.filter { $0.value == "female" }.keys)
        let expectedChain = facts.observations.filter { $0.codes.contains(heartRate) && women.contains($0.subject) }.count
        let chained = try await service.search(type: "Observation", query: "subject:Patient.gender=female&code=http://loinc.org%7C8867-4&_summary=count")
        #expect(expectedChain > 100 && chained.total == expectedChain, "\(chained.total ?? -1) against \(expectedChain)")
        // The condition code the most patients have, and who has it.
        var patientsByCode: [String: Set<String>] = [:]
        for (patient, code) in facts.conditions { patientsByCode[code, default: []].insert(patient) }
        let (code, patients) = try #require(patientsByCode.max { $0.value.count < $1.value.count || ($0.value.count == $1.value.count && $0.key > $1.key) })
        let has = try await service.search(type: "Patient", query: "_has:Condition:patient:code=\(code.replacingOccurrences(of: "|", with: "%7C"))&_count=200")
        #expect(patients.count > 10 && Set(has.matches.map(\.id)) == patients, "\(code): \(has.matches.count) against \(patients.count)")
        // Both at once: the women among them.
        let both = try await service.search(
            type: "Patient", query: "gender=female&_has:Condition:patient:code=\(code.replacingOccurrences(of: "|", with: "%7C"))&_summary=count")
        #expect(both.total == patients.intersection(women).count)
    }
}

/// What the chained searches are checked against, read from the bundles
/// as they are imported: each patient's gender, each Observation's subject
/// and codes, each Condition's patient and codes (`system|code`).
struct BundleFacts {
    var gender: [String: String] = [:]
    var observations: [(subject: String, codes: Set<String>, url: String)] = []
    var conditions: [(patient: String, code: String)] = []
    /// The laboratory reports (category LAB of v2-0074) and the results they name.
    var laboratoryReports = 0
    var laboratoryResults = 0
    /// The full URLs of the Observations a laboratory report names.
    var laboratoryResultURLs: Set<String> = []

    mutating func add(_ bundle: JSON) {
        for entry in bundle["entry"]?.arrayValue ?? [] {
            guard let resource = entry["resource"] else { continue }
            // Synthea's references are the `urn:uuid:` full URLs of the patients, whose ids they carry.
            let subject = String((resource["subject"]?["reference"]?.stringValue ?? "").split(separator: ":").last ?? "")
            let codes = Set((resource["code"]?["coding"]?.arrayValue ?? []).map { "\($0["system"]?.stringValue ?? "")|\($0["code"]?.stringValue ?? "")" })
            switch resource["resourceType"]?.stringValue {
            case "Patient": gender[resource["id"]?.stringValue ?? ""] = resource["gender"]?.stringValue
            case "Observation": observations.append((subject, codes, entry["fullUrl"]?.stringValue ?? ""))
            case "Condition": conditions += codes.map { (subject, $0) }
            case "DiagnosticReport":
                let categories = (resource["category"]?.arrayValue ?? []).flatMap { $0["coding"]?.arrayValue ?? [] }
                guard categories.contains(where: { $0["system"] == "http://terminology.hl7.org/CodeSystem/v2-0074" && $0["code"] == "LAB" }) else { break }
                laboratoryReports += 1
                let results = (resource["result"]?.arrayValue ?? []).compactMap { $0["reference"]?.stringValue }
                laboratoryResults += results.count
                laboratoryResultURLs.formUnion(results)
            default: break
            }
        }
    }
}
