import Foundation
import Server
import SocleDataSet
import SocleTestSupport
import Storage
import Testing

/// `socle seed`'s data set comes with Socle: its templates and compositions
/// are built in (`DataSetFiles`), so it is written from any folder, and it
/// validates and commits through the services like the API's requests.
@Suite("The built-in data set")
struct DataSetTests {
    @Test(arguments: TestEngine.available)
    func theBuiltInDataSetSeedsAnEmptyDatabase(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let components = try await SocleServer.open(ServerConfiguration(systemID: "seed.test"), store: database.store)
            let written = try await DataSet().seed(components, ehrs: 3, compositionsPerEHR: 12, concurrency: 2, seed: 1) { _ in }
            #expect(written == 36)
            #expect(try await database.store.versions.count(rmType: "COMPOSITION") == 36)
            #expect(try await database.store.aql.size().compositions == 36)
            let templates = try await components.templateService.list().arrayValue?.compactMap { $0["template_id"]?.stringValue }
            #expect(templates == ["Befund der Blutgasanalyse", "Corona_Anamnese", "ehrbase_blood_pressure_simple.de.v0"].sorted())
            // The same seed gives the same values.
            let q = "SELECT o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude AS s FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] ORDER BY s"
            let first = try await components.queryService.execute(.init(q: q))["rows"]
            #expect((first?.arrayValue?.count ?? 0) > 10)
        }
    }

    /// `--corpus` reads the same files from a corpus folder, and says which is missing.
    @Test func aCorpusFolderWithoutTheFilesIsRefused() throws {
        #expect(throws: DataSetError.self) { try DataSet(corpus: URL(fileURLWithPath: "/nonexistent")) }
        #expect(throws: Never.self) { try DataSet(corpus: Corpus.root) }
    }
}
