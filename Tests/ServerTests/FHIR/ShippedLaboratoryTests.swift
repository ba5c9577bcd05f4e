import Foundation
import JSONCore
import SocleTestSupport
import Testing

/// The shipped laboratory mapping (issue 15 §5, docs/architecture.md
/// §Shipped mappings): a laboratory DiagnosticReport (category LAB, R4
/// §diagnosticreport) and the result Observations sent with it are one
/// composition of KDS_Laborbericht, each result an analyte cluster; on the
/// FHIR face the composition is the report and its results again, each
/// under the id its entry was given, found by search and `_include`.
@Suite("FHIR: the shipped laboratory mapping")
struct ShippedLaboratoryTests {
    static let json = FHIRRoutesTests.json
    typealias Transactions = FHIRMappedTransactionsTests

    static func result(_ loinc: String, _ name: String, _ value: (key: String, value: JSON)) -> JSON {
        .object(JSONObject([
            ("resourceType", "Observation"), ("status", "final"),
            ("category", [["coding": [["system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory", "display": "laboratory"]]]]),
            ("code", ["coding": [["system": "http://loinc.org", "code": .string(loinc), "display": .string(name)]], "text": .string(name)]),
            ("subject", ["reference": "Patient/p1"]), ("effectiveDateTime", "2007-07-27T07:24:28+02:00"), ("issued", "2007-07-27T07:24:28.884+02:00"),
            value,
        ]))
    }

    static let glucose = result("5792-7", "Glucose [Mass/volume] in Urine by Test strip", ("valueQuantity", ["value": .number("1.8145"), "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"]))
    static let appearance = result(
        "5767-9", "Appearance of Urine", ("valueCodeableConcept", ["coding": [["system": "http://snomed.info/sct", "code": "7766007", "display": "Cloudy urine (finding)"]], "text": "Cloudy urine (finding)"]))

    static func report(results: [String]) -> JSON {
        [
            "resourceType": "DiagnosticReport", "status": "final",
            "category": [["coding": [["system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB", "display": "Laboratory"]]]],
            "code": ["coding": [["system": "http://loinc.org", "code": "24357-6", "display": "Urinalysis macro (dipstick) panel - Urine"]]],
            "subject": ["reference": "Patient/p1"], "effectiveDateTime": "2007-07-27T07:24:28+02:00", "issued": "2007-07-27T07:24:28.884+02:00",
            "result": .array(results.map { ["reference": .string($0)] }),
        ]
    }

    /// What patient p1 has: Observations and DiagnosticReports found by FHIR search, compositions by AQL.
    static func expectStored(_ server: TestServer, observations: Int, reports: Int, compositions: Int) async throws {
        for (type, expected) in [("Observation", observations), ("DiagnosticReport", reports)] {
            let count = try await server.send(.get, "/fhir/\(type)?patient=p1&_summary=count", headers: json)
            #expect(count.json["total"] == JSON(expected), "\(type): \(count.body)")
        }
        #expect(try await ShippedMappingsTests.rows(server, "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c").count == compositions)
    }

    /// The report and its two results (glucose, appearance) in one transaction,
    /// each answered 201: their references, results first, as the response gives them.
    static func postReportWithTwoResults(_ server: TestServer) async throws -> [String] {
        let reply = try await server.send(.post, "/fhir", headers: json, body: Transactions.transaction([
            Transactions.entry("POST", "Observation", fullUrl: "urn:uuid:r1", glucose),
            Transactions.entry("POST", "Observation", fullUrl: "urn:uuid:r2", appearance),
            Transactions.entry("POST", "DiagnosticReport", fullUrl: "urn:uuid:rep", report(results: ["urn:uuid:r1", "urn:uuid:r2"])),
        ]))
        #expect(reply.status == .ok, "\(reply.body)")
        let entries = reply.json["entry"]?.arrayValue ?? []
        #expect(entries.compactMap { $0["response"]?["status"]?.stringValue } == ["201 Created", "201 Created", "201 Created"], "\(reply.body)")
        let references = entries.compactMap { $0["fullUrl"]?.stringValue }
        try #require(references.count == 3, "\(reply.body)")
        return references
    }

    /// The report and its two results in one transaction: three resources on the
    /// FHIR face, as sent; one composition with two analytes on the openEHR face.
    @Test(arguments: TestEngine.available)
    func aReportAndItsResultsAreOneComposition(engine: TestEngine) async throws {
        try await ShippedMappingsTests.withServer(engine) { server, ehrID in
            let references = try await Self.postReportWithTwoResults(server)

            // openEHR: one composition, its two analytes.
            let analytes = try await ShippedMappingsTests.rows(server, """
                SELECT c/uid/value, a/items[at0024]/value/defining_code/code_string, a/items[at0001]/value/magnitude
                FROM EHR e[ehr_id/value='\(ehrID)'] CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.laboratory_test_result.v1]
                CONTAINS CLUSTER a[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1]
                """)
            #expect(Set(analytes.compactMap { $0[0].stringValue }).count == 1, "\(analytes)")
            #expect(analytes.map { [$0[1], $0[2]] } == [["5792-7", .number("1.8145")], ["5767-9", .null]], "\(analytes)")

            // FHIR: each resource reads back as sent, under the id its entry got.
            for (reference, sent) in zip(references, [Self.glucose, Self.appearance]) {
                let read = try await server.send(.get, "/fhir/\(reference)", headers: Self.json)
                #expect(read.status == .ok, "\(read.body)")
                for member in sent.objectValue?.members ?? [] { #expect(read.json[member.key] == member.value, "\(reference).\(member.key)") }
            }
            let report = try await server.send(.get, "/fhir/\(references[2])", headers: Self.json)
            #expect(report.json["result"] == .array(references.prefix(2).map { ["reference": .string($0)] }), "\(report.body)")
            #expect(report.json["issued"] == "2007-07-27T07:24:28.884+02:00" && report.json["code"] == Self.report(results: [])["code"])

            // Search by the result's code and patient; the report with its results included.
            let found = try await server.send(.get, "/fhir/Observation?code=http://loinc.org%7C5792-7&patient=p1", headers: Self.json)
            #expect(found.json["entry"]?.arrayValue?.compactMap { $0["fullUrl"]?.stringValue.map { $0.hasSuffix(references[0]) } } == [true], "\(found.body)")
            let included = try await server.send(.get, "/fhir/DiagnosticReport?patient=p1&_include=DiagnosticReport:result", headers: Self.json)
            let modes = included.json["entry"]?.arrayValue?.compactMap { $0["search"]?["mode"]?.stringValue }.sorted()
            #expect(modes == ["include", "include", "match"], "\(included.body)")

            // A result is not deleted alone (the report names it); deleting the report deletes its results with it.
            #expect(try await server.send(.delete, "/fhir/\(references[0])", headers: Self.json).status == .conflict)
            let deleted = try await server.send(.delete, "/fhir/\(references[2])", headers: Self.json)
            #expect(deleted.status == .noContent || deleted.status == .ok, "\(deleted.body)")
            #expect(try await server.send(.get, "/fhir/\(references[0])", headers: Self.json).status == .gone)
            let left = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.laboratory_test_result.v1]"
            #expect(try await ShippedMappingsTests.rows(server, left).isEmpty)
        }
    }

    /// A result changed alone (R4 §update, §patch) is a new version of its
    /// report's composition: AQL sees the new value, the result reads as
    /// sent at version 2, the report and the other result are unchanged but
    /// for their version; a change the template cannot hold is a 422 that
    /// writes nothing.
    @Test(arguments: TestEngine.available)
    func aResultChangedAloneIsANewVersionOfItsReportsComposition(engine: TestEngine) async throws {
        try await ShippedMappingsTests.withServer(engine) { server, _ in
            let references = try await Self.postReportWithTwoResults(server)
            let id = String(references[0].dropFirst("Observation/".count))
            guard case .object(var corrected) = Self.glucose.settingID(id) else { return }
            corrected["valueQuantity"] = ["value": .number("2.5"), "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"]
            corrected["status"] = "corrected"
            let put = try await server.send(.put, "/fhir/\(references[0])", headers: Self.json, body: JSONSerializer.string(.object(corrected)))
            #expect(put.status == .ok, "\(put.body)")
            #expect(put.json["meta"]?["versionId"] == "2" && put.json["valueQuantity"] == corrected["valueQuantity"], "\(put.body)")
            let magnitudes = try await ShippedMappingsTests.rows(server, """
                SELECT a/items[at0001]/value/magnitude, a/items[at0005]/value/defining_code/code_string FROM EHR e CONTAINS COMPOSITION c
                CONTAINS CLUSTER a[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1] WHERE a/items[at0024]/value/defining_code/code_string = '5792-7'
                """)
            #expect(magnitudes == [[.number("2.5"), "at0019"]], "\(magnitudes)")
            let report = try await server.send(.get, "/fhir/\(references[2])", headers: Self.json)
            #expect(report.json["meta"]?["versionId"] == "2" && report.json["result"]?.arrayValue?.count == 2, "\(report.body)")
            let other = try await server.send(.get, "/fhir/\(references[1])", headers: Self.json)
            for member in Self.appearance.objectValue?.members ?? [] { #expect(other.json[member.key] == member.value, "\(member.key)") }

            // A JSON Patch of the result alone: version 3, the note kept as an analyte comment.
            let patch = #"[{"op": "add", "path": "/note", "value": [{"text": "haemolysed sample"}]}]"#
            let patched = try await server.send(.patch, "/fhir/\(references[0])", headers: ["Content-Type": "application/json-patch+json"], body: patch)
            #expect(patched.status == .ok, "\(patched.body)")
            #expect(patched.json["meta"]?["versionId"] == "3" && patched.json["note"] == [["text": "haemolysed sample"]], "\(patched.body)")
            let comments = try await ShippedMappingsTests.rows(server, """
                SELECT a/items[at0003]/value/value FROM EHR e CONTAINS COMPOSITION c CONTAINS CLUSTER a[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1]
                WHERE a/items[at0024]/value/defining_code/code_string = '5792-7'
                """)
            #expect(comments == [["haemolysed sample"]], "\(comments)")
            let history = try await server.send(.get, "/fhir/\(references[0])/_history", headers: Self.json)
            #expect(history.json["total"] == 3, "\(history.body)")

            // A change the report's template cannot hold (a yes/no result: the analyte's result is a
            // quantity, coded or plain text) is refused with the openEHR path, and writes no version.
            guard case .object(var yesNo) = Self.glucose.settingID(id) else { return }
            yesNo["valueQuantity"] = nil
            yesNo["valueBoolean"] = true
            let refused = try await server.send(.put, "/fhir/\(references[0])", headers: Self.json, body: JSONSerializer.string(.object(yesNo)))
            #expect(refused.status == .unprocessableContent, "\(refused.body)")
            #expect(refused.body.contains("laboratory_test_analyte.v1]/items[at0001]"), "\(refused.body)")
            let after = try await server.send(.get, "/fhir/\(references[2])", headers: Self.json)
            #expect(after.json["meta"]?["versionId"] == "3", "\(after.body)")
            try await Self.expectStored(server, observations: 2, reports: 1, compositions: 1)
        }
    }

    /// A report whose results are not in the request is refused (422), with
    /// nothing written: stored elsewhere they would be missing from its composition.
    @Test(arguments: TestEngine.available)
    func aReportWithoutItsResultsIsRefused(engine: TestEngine) async throws {
        try await ShippedMappingsTests.withServer(engine) { server, _ in
            // A result stored on its own (no mapping takes a laboratory Observation alone), then a report naming it.
            let stored = try await server.send(.put, "/fhir/Observation/elsewhere", headers: Self.json, body: JSONSerializer.string(Self.glucose.settingID("elsewhere")))
            #expect(stored.status == .created, "\(stored.body)")
            let alone = try await server.send(.post, "/fhir/DiagnosticReport", headers: Self.json, body: JSONSerializer.string(Self.report(results: ["Observation/elsewhere"])))
            #expect(alone.status == .unprocessableContent, "\(alone.body)")
            #expect(alone.body.contains("Observation/elsewhere is not in this request"), "\(alone.body)")
            let inBundle = try await server.send(.post, "/fhir", headers: Self.json, body: Transactions.transaction([
                Transactions.entry("POST", "Observation", fullUrl: "urn:uuid:r1", Self.glucose),
                Transactions.entry("POST", "DiagnosticReport", Self.report(results: ["urn:uuid:r1", "Observation/elsewhere"])),
            ]))
            #expect(inBundle.status == .unprocessableContent, "\(inBundle.body)")
            #expect(inBundle.body.contains("Bundle.entry[1]"), "\(inBundle.body)")
            try await Self.expectStored(server, observations: 1, reports: 0, compositions: 0)
        }
    }

    /// Bad laboratory transactions get a 4xx naming the entry and leave
    /// nothing: a result two reports name (a resource is stored in one
    /// composition), a result that is not a valid Observation (R4 status
    /// code), a result whose value the template cannot hold (the analyte's
    /// result is mandatory in KDS_Laborbericht: the openEHR path is named).
    @Test(arguments: TestEngine.available)
    func badLaboratoryTransactionsAreRefusedWithNothingWritten(engine: TestEngine) async throws {
        try await ShippedMappingsTests.withServer(engine) { server, _ in
            func refused(_ entries: [JSON], _ expected: [String]) async throws {
                let reply = try await server.send(.post, "/fhir", headers: Self.json, body: Transactions.transaction(entries))
                #expect(reply.status == .unprocessableContent || reply.status == .badRequest, "\(reply.body)")
                for text in expected { #expect(reply.body.contains(text), "\(text): \(reply.body)") }
            }
            try await refused([
                Transactions.entry("POST", "Observation", fullUrl: "urn:uuid:r1", Self.glucose),
                Transactions.entry("POST", "DiagnosticReport", Self.report(results: ["urn:uuid:r1"])),
                Transactions.entry("POST", "DiagnosticReport", Self.report(results: ["urn:uuid:r1"])),
            ], ["Bundle.entry[2]", "is held by the composition of another entry (Bundle.entry[1])"])
            guard case .object(var bogus) = Self.glucose else { return }
            bogus["status"] = "bogus"
            try await refused([
                Transactions.entry("POST", "Observation", fullUrl: "urn:uuid:r1", .object(bogus)),
                Transactions.entry("POST", "DiagnosticReport", Self.report(results: ["urn:uuid:r1"])),
            ], ["Bundle.entry[0]", "bogus"])
            let yesNo = Self.result("5767-9", "Appearance of Urine", ("valueBoolean", true))
            try await refused([
                Transactions.entry("POST", "Observation", fullUrl: "urn:uuid:r1", yesNo),
                Transactions.entry("POST", "DiagnosticReport", Self.report(results: ["urn:uuid:r1"])),
            ], ["Bundle.entry[1]", "KDS_Laborbericht", "openEHR-EHR-CLUSTER.laboratory_test_analyte.v1]/items[at0001]"])
            try await Self.expectStored(server, observations: 0, reports: 0, compositions: 0)
        }
    }

    /// A report POSTed alone with its results contained (R4 §2.3.0.5): one
    /// composition; on read the results, which are about the patient, are
    /// Observations of their own that the report names, each as sent (its
    /// elements the mapping does not cover kept, a code without display
    /// without one), and no longer contained.
    @Test(arguments: TestEngine.available)
    func aReportWithContainedResultsReadsBackWithThemOnce(engine: TestEngine) async throws {
        try await ShippedMappingsTests.withServer(engine) { server, _ in
            guard case .object(var report) = Self.report(results: ["#g", "#a"]), case .object(var appearance) = Self.appearance else { return }
            // A code sent without display or text is read back without them (MappedCompositions.withoutFilledTerms).
            appearance["code"] = ["coding": [["system": "http://loinc.org", "code": "5767-9"]]]
            let sentResults = [Self.glucose, .object(appearance)]
            report["contained"] = [Self.glucose.settingID("g"), JSON.object(appearance).settingID("a")]
            let created = try await server.send(.post, "/fhir/DiagnosticReport", headers: Self.json, body: JSONSerializer.string(.object(report)))
            #expect(created.status == .created, "\(created.body)")
            let analytes = try await ShippedMappingsTests.rows(server, """
                SELECT a/items[at0024]/value/defining_code/code_string FROM EHR e CONTAINS COMPOSITION c
                CONTAINS CLUSTER a[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1]
                """)
            #expect(analytes.map { $0[0] } == ["5792-7", "5767-9"], "\(analytes)")

            let read = try await server.send(.get, "/fhir/DiagnosticReport/\(created.json["id"]?.stringValue ?? "")", headers: Self.json)
            #expect(read.status == .ok, "\(read.body)")
            #expect(read.json["contained"] == nil, "\(read.body)")
            let results = read.json["result"]?.arrayValue?.compactMap { $0["reference"]?.stringValue } ?? []
            #expect(results.count == 2 && results.allSatisfy { $0.hasPrefix("Observation/") }, "\(read.body)")
            for (reference, sent) in zip(results, sentResults) {
                let result = try await server.send(.get, "/fhir/\(reference)", headers: Self.json)
                #expect(result.status == .ok, "\(result.body)")
                for member in sent.objectValue?.members ?? [] { #expect(result.json[member.key] == member.value, "\(reference).\(member.key)") }
            }
            let count = try await server.send(.get, "/fhir/Observation?patient=p1&_summary=count", headers: Self.json)
            #expect(count.json["total"] == 2, "\(count.body)")
        }
    }

    /// Conditional creates (R4 §3.1.0.11.2 `ifNoneExist`) of a report and its
    /// results: sent twice, the second finds each and writes nothing (200),
    /// the results' conditions being checked with the report's composition.
    @Test(arguments: TestEngine.available)
    func conditionalLaboratoryTransactionsWriteOnce(engine: TestEngine) async throws {
        try await ShippedMappingsTests.withServer(engine) { server, _ in
            func identified(_ resource: JSON, _ value: String) -> JSON {
                guard case .object(var object) = resource else { return resource }
                object["identifier"] = [["system": "urn:lab", "value": .string(value)]]
                return .object(object)
            }
            func conditional(_ type: String, _ fullUrl: String, _ resource: JSON, _ value: String) -> JSON {
                guard case .object(var entry) = Transactions.entry("POST", type, fullUrl: fullUrl, identified(resource, value)) else { return .null }
                entry["request"] = ["method": "POST", "url": .string(type), "ifNoneExist": .string("identifier=urn:lab|\(value)")]
                return .object(entry)
            }
            let body = Transactions.transaction([
                conditional("Observation", "urn:uuid:r1", Self.glucose, "g1"),
                conditional("DiagnosticReport", "urn:uuid:rep", Self.report(results: ["urn:uuid:r1"]), "rep1"),
            ])
            for expected in [["201 Created", "201 Created"], ["200 OK", "200 OK"]] {
                let reply = try await server.send(.post, "/fhir", headers: Self.json, body: body)
                #expect(reply.status == .ok, "\(reply.body)")
                #expect(reply.json["entry"]?.arrayValue?.compactMap { $0["response"]?["status"]?.stringValue } == expected, "\(reply.body)")
            }
            #expect(try await ShippedMappingsTests.rows(server, "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c").count == 1)
            let found = try await server.send(.get, "/fhir/Observation?identifier=urn:lab%7Cg1", headers: Self.json)
            #expect(found.json["entry"]?.arrayValue?.count == 1, "\(found.body)")
        }
    }

    /// The same composition committed through openEHR (canonical JSON, without
    /// the FHIR original) is seen as a report whose results resolve to
    /// Observations of the same patient with the analytes' codes and values.
    @Test(arguments: TestEngine.available)
    func aLaboratoryCompositionWrittenThroughOpenEHRIsAReportWithItsResults(engine: TestEngine) async throws {
        try await ShippedMappingsTests.withServer(engine) { server, ehrID in
            let written = try await server.send(.post, "/fhir", headers: Self.json, body: Transactions.transaction([
                Transactions.entry("POST", "Observation", fullUrl: "urn:uuid:r1", Self.glucose),
                Transactions.entry("POST", "DiagnosticReport", Self.report(results: ["urn:uuid:r1"])),
            ]))
            #expect(written.status == .ok, "\(written.body)")
            let uid = try #require(try await ShippedMappingsTests.rows(server, "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c").first?.first?.stringValue)
            let stored = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)", headers: ["Accept": "application/json"])
            #expect(stored.status == .ok, "\(stored.body)")
            var composition = try #require(stored.json.objectValue)
            composition["feeder_audit"] = nil
            composition["uid"] = nil
            let created = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["Content-Type": "application/json"], body: JSONSerializer.string(.object(composition)))
            #expect(created.status == .created || created.status == .noContent, "\(created.body)")

            let reports = try await server.send(.get, "/fhir/DiagnosticReport?patient=p1&code=http://loinc.org%7C24357-6&_include=DiagnosticReport:result", headers: Self.json)
            let resources = reports.json["entry"]?.arrayValue?.compactMap { $0["resource"] } ?? []
            let seen = resources.filter { $0["resourceType"] == "DiagnosticReport" && $0["issued"] == nil }
            #expect(seen.count == 1, "\(reports.body)")
            let result = try #require(seen.first?["result"]?.arrayValue?.first?["reference"]?.stringValue)
            let observation = try await server.send(.get, "/fhir/\(result)", headers: Self.json)
            #expect(observation.status == .ok, "\(observation.body)")
            #expect(observation.json["subject"]?["reference"] == "Patient/p1")
            #expect(observation.json["code"]?["coding"]?.arrayValue?.first?["code"] == "5792-7")
            #expect(observation.json["valueQuantity"]?["value"] == .number("1.8145"))
            #expect(observation.json["status"] == "final" && seen.first?["status"] == "final" && seen.first?["effectiveDateTime"] == "2007-07-27T07:24:28+02:00")
            #expect(resources.contains { $0["id"]?.stringValue == result.split(separator: "/").last.map(String.init) }, "included")
        }
    }
}

extension JSON {
    /// The resource with this id.
    func settingID(_ id: String) -> JSON {
        guard case .object(var object) = self else { return self }
        object["id"] = .string(id)
        return .object(object)
    }
}
