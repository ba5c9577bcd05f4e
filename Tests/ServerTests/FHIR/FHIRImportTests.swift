import Foundation
import JSONCore
import Services
import SocleTestSupport
import Storage
import Testing

/// `FHIRImporter` on NDJSON: good lines imported in transactions, a line
/// that is not a resource reported with its number, and a second import
/// writing nothing (the resources' ids are kept, unchanged PUTs write no version).
@Suite("FHIR: importing NDJSON")
struct FHIRImportTests {
    @Test(arguments: TestEngine.available)
    func ndjsonImportsOnceAndReportsBadLines(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let importer = FHIRImporter(service: FHIRService(store: database.store, systemID: "socle.test"))
            let committal = Committal(committer: .identified(name: "import"))
            let lines = [
                #"{"resourceType": "Patient", "id": "p-1", "gender": "female"}"#,
                #"{"resourceType": "Observation", "id": "o-1", "status": "final", "code": {"text": "pulse"}, "subject": {"reference": "Patient/p-1"}}"#,
                "not json",
                "",
                #"{"resourceType": "Patient", "gender": "male"}"#,
            ].joined(separator: "\n")
            let first = await importer.importNDJSON(lines, source: "test.ndjson", committal: committal, chunk: 2)
            #expect(first.created == ["Patient": 2, "Observation": 1], "\(first.created)")
            #expect(first.refused == ["test.ndjson line 3: not a FHIR resource in JSON"])
            let before = try await database.store.versions.history(HistoryQuery(limit: 1)).total
            let second = await importer.importNDJSON(lines, source: "test.ndjson", committal: committal, chunk: 2)
            // The resources with ids are found unchanged; the one without an id is created again.
            #expect(second.unchanged == ["Patient": 1, "Observation": 1] && second.created == ["Patient": 1], "\(second)")
            #expect(try await database.store.versions.history(HistoryQuery(limit: 1)).total == before + 1)
            // A transaction refused as a whole is reported, and leaves nothing.
            let broken = await importer.importNDJSON(#"{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/none"}}"#, source: "bad.ndjson", committal: committal)
            #expect(broken.refused.count == 1 && broken.refused[0].hasPrefix("bad.ndjson lines 1–1"), "\(broken.refused)")
            #expect(try await database.store.versions.history(HistoryQuery(limit: 1)).total == before + 1)
        }
    }
}
