import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

@testable import Storage

/// A commit leaves out of the AQL index's dictionaries (`aql_shape`,
/// `aql_place`) the entries this process has seen committed
/// (`NodeDictionaryCache`, both engines), and every node row still names entries
/// that are there: after a rebuild made the tables anew, and after a commit
/// that failed.
@Suite("The AQL index's dictionaries written once")
struct NodeDictionaryCacheTests {
    static func composition(_ path: String) throws -> JSON {
        try CanonicalDecoder().decode(try JSONParser.parse(Array(Corpus.compositionWithoutUID(path).utf8)), as: "COMPOSITION")
    }

    static let pressure = "openehr/compositions/canonical_json/aql_data_load/ehrbase_blood_pressure_simple.de.v0.json"
    static let summary = "openehr/compositions/canonical_json/openEHR_SDK/ips_canonical.json"

    /// The ids name entries in databases already written, by every process
    /// and rebuild: they are FNV-1a (64 bits) of the two fields, each
    /// followed by a unit separator, and may never change.
    @Test func shapeAndPlaceIdsAreFNV1aOfTheirFields() {
        func fnv1a(_ text: String) -> Int64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            return Int64(bitPattern: hash)
        }
        #expect(fnv1a("foobar") == Int64(bitPattern: 0x8594_4171_f739_67e8))  // the published test vector
        let (archetype, apath) = ("openEHR-EHR-OBSERVATION.blood_pressure.v2", "/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value")
        #expect(IndexSchema.Shape.id(archetypeID: archetype, apath: apath) == fnv1a(archetype + "\u{1f}" + apath + "\u{1f}"))
        #expect(IndexSchema.Shape.id(archetypeID: archetype, apath: "") == fnv1a(archetype + "\u{1f}\u{1f}"))
        #expect(IndexSchema.Place.id(jsonPath: "$.content[12].data", rmType: "HISTORY") == fnv1a("$.content[12].data\u{1f}HISTORY\u{1f}"))
        #expect(IndexSchema.Shape.id(archetypeID: "ab", apath: "c") != IndexSchema.Shape.id(archetypeID: "a", apath: "bc"))
    }

    static func commit(_ tree: JSON, _ ehr: EHRFixture, in store: VersionStore, objectID: String = UUIDText.random()) async throws {
        let contribution = ehr.contribution(ehr.audit())
        let record = ehr.object(objectID, 1, contribution: contribution, data: String(decoding: JSONSerializer.bytes(tree), as: UTF8.self))
        try await store.commit(
            contribution, versions: [.create(record, rmType: "COMPOSITION", templateID: tree["archetype_details"]?["template_id"]?["value"]?.stringValue, document: tree)],
            ehrChange: .requireModifiable)
    }

    /// A store with an EHR and one blood pressure committed.
    static func withOneBloodPressure(_ engine: TestEngine, _ body: (TestDatabase, VersionStore, EHRFixture, JSON) async throws -> Void) async throws {
        try await TestDatabase.with(engine) { test in
            let ehr = EHRFixture()
            try await ehr.create(in: test.store.versions)
            let tree = try composition(pressure)
            try await commit(tree, ehr, in: test.store.versions)
            try await body(test, test.store.versions, ehr, tree)
        }
    }

    /// Node rows whose shape or place is not in its dictionary.
    static func dangling(_ database: any SQLDatabase) async throws -> Int64 {
        try await database.query(
            """
            SELECT (SELECT COUNT(*) FROM aql_node n LEFT JOIN aql_shape s ON s.id = n.shape WHERE s.id IS NULL)
                 + (SELECT COUNT(*) FROM aql_node n LEFT JOIN aql_place p ON p.id = n.place WHERE p.id IS NULL)
            """
        ).first?.int(0) ?? -1
    }

    @Test(arguments: TestEngine.available)
    func aSecondCompositionOfTheSameTemplateWritesNoEntryAgain(engine: TestEngine) async throws {
        try await Self.withOneBloodPressure(engine) { test, store, ehr, tree in
            let known = try #require(await test.store.projections.dictionaries.current { nil })
            #expect(!known.shapes.isEmpty && !known.places.isEmpty)
            // The next commit's statements: the generation's check, and no dictionary insert
            // (on PostgreSQL, the check is part of the composition's statement).
            let use = try #require(await test.store.projections.dictionaryUse())
            let (contribution, record) = (ehr.contribution(ehr.audit()), ehr.object(UUIDText.random(), 1, contribution: ehr.contribution(ehr.audit())))
            let statements = store.statements(contribution, versions: [.create(record, rmType: "COMPOSITION", templateID: nil, document: tree)], ehrChanges: [], dictionaries: use)
            #expect(statements.contains { $0.sql.contains("aql_generation") })
            #expect(!statements.contains { $0.sql.contains("INSERT INTO aql_shape") || $0.sql.contains("INSERT INTO aql_place") })
            for _ in 0..<3 { try await Self.commit(tree, ehr, in: store) }
            #expect(try await test.database.query("SELECT COUNT(*) FROM aql_composition").first?.int(0) == 4)
            #expect(try await Self.dangling(test.database) == 0)
        }
    }

    @Test(arguments: TestEngine.available)
    func aRebuildOfTheTablesIsNoticedAndTheCommitWritesEveryEntry(engine: TestEngine) async throws {
        try await Self.withOneBloodPressure(engine) { test, store, ehr, tree in
            // The tables made anew (as a rebuild by another process would), with nothing in them yet.
            let projection = AQLIndexProjection()
            let kind = test.database.kind
            try await test.database.transaction((projection.dropStatements(kind) + projection.createStatements(kind)).map { SQLStatement($0) })
            try await Self.commit(tree, ehr, in: store)
            #expect(try await test.database.query("SELECT COUNT(*) FROM aql_composition").first?.int(0) == 1)
            #expect(try await test.database.query("SELECT COUNT(*) FROM aql_shape").first.flatMap { $0.int(0) } ?? 0 > 0)
            #expect(try await Self.dangling(test.database) == 0)
        }
    }

    @Test(arguments: TestEngine.available)
    func aCommitThatFailedTeachesNothing(engine: TestEngine) async throws {
        try await Self.withOneBloodPressure(engine) { test, store, ehr, _ in
            // A summary whose object id is taken: refused after its index rows were made.
            let summary = try Self.composition(Self.summary)
            let taken = UUIDText.random()
            try await Self.commit(try Self.composition(Self.pressure), ehr, in: store, objectID: taken)
            await #expect(throws: StoreError.self) { try await Self.commit(summary, ehr, in: store, objectID: taken) }
            try await Self.commit(summary, ehr, in: store)
            #expect(try await Self.dangling(test.database) == 0)
            #expect(try await test.database.query("SELECT COUNT(*) FROM aql_composition").first?.int(0) == 3)
        }
    }

    @Test(arguments: TestEngine.available)
    func tablesMadeBeforeTheGenerationGetOneAtStart(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let first = try await test.database.query(IndexSchema.generationRead).first?.int(0)
            #expect(first != nil)
            try await test.database.transaction([SQLStatement("DROP TABLE aql_generation")])
            try await test.store.projections.prepare()
            let second = try await test.database.query(IndexSchema.generationRead).first?.int(0)
            #expect(second != nil && second != first)
            // Prepared again, it stays.
            try await test.store.projections.prepare()
            #expect(try await test.database.query(IndexSchema.generationRead).first?.int(0) == second)
        }
    }
}
