import AQL
import Foundation
import OpenEHR
import SocleTestSupport
import Storage
import Synchronization
import Testing

/// A projection of the test target's own, as a FHIR search index or the OMOP
/// export state will plug in: one row per versioned object with its latest
/// version, and a log of every version it was handed.
struct LedgerProjection: Projection {
    var name = "test_ledger"
    var version = 1
    var rmTypes: Set<String>? = nil
    /// On PostgreSQL each commit sleeps this long inside its transaction,
    /// after its change was recorded (the change sequence test).
    var sleep: Double = 0
    var tables: [String] { ["test_ledger", "test_ledger_log"] }

    func createStatements(_ kind: DatabaseKind) -> [String] {
        [
            "CREATE TABLE test_ledger (object_id TEXT PRIMARY KEY, version_number INTEGER NOT NULL, rm_type TEXT NOT NULL, ehr_id TEXT)",
            "CREATE TABLE test_ledger_log (object_id TEXT NOT NULL, version_number INTEGER NOT NULL, creation INTEGER NOT NULL)",
        ]
    }

    func dropStatements(_ kind: DatabaseKind) -> [String] {
        ["DROP TABLE IF EXISTS test_ledger", "DROP TABLE IF EXISTS test_ledger_log"]
    }

    func statements(for version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement] {
        var statements = [
            SQLStatement(
                "INSERT INTO test_ledger_log (object_id, version_number, creation) VALUES (?, ?, ?)",
                [.text(version.record.objectID), SQLValue(version.record.versionNumber), SQLValue(version.isCreation)]),
            SQLStatement("DELETE FROM test_ledger WHERE object_id = ?", [.text(version.record.objectID)]),
        ]
        if !version.isDeleted {
            statements.append(
                SQLStatement(
                    "INSERT INTO test_ledger (object_id, version_number, rm_type, ehr_id) VALUES (?, ?, ?, ?)",
                    [.text(version.record.objectID), SQLValue(version.record.versionNumber), .text(version.rmType), SQLValue(version.record.ehrID)]))
        }
        if sleep > 0, kind == .postgresql { statements.append(SQLStatement("SELECT pg_sleep(?)", [.real(Double.random(in: 0...sleep))])) }
        return statements
    }

    func erasureStatements(_ kind: DatabaseKind) -> [SQLStatement] {
        [SQLStatement("DELETE FROM test_ledger WHERE object_id IN (SELECT object_id FROM erased_object)")]
    }
}

extension TestDatabase {
    /// `object id → latest version` as the ledger projection holds it.
    func ledger() async throws -> [String: Int] {
        var rows: [String: Int] = [:]
        for row in try await database.query("SELECT object_id, version_number FROM test_ledger") { rows[row.string(0) ?? ""] = Int(row.int(1) ?? 0) }
        return rows
    }
}

@Suite("Projections: every commit reaches them, a rebuild gives the same rows, a new version is detected")
struct ProjectionTests {
    static let withLedger: [any Projection] = Store.standardProjections + [LedgerProjection()]

    /// Each commit hands its versions to the projection in its own
    /// transaction: creations, updates, deletions, several per contribution.
    @Test(arguments: TestEngine.available)
    func aProjectionOfTheTestTargetReceivesEveryCommit(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, projections: Self.withLedger) { test in
            let store = test.store.versions
            let ehr = EHRFixture()
            try await ehr.create(in: store)
            try await ehr.update(in: store, to: 2)
            // A contribution of two new objects, then a deletion.
            let contribution = ehr.contribution(ehr.audit())
            let first = ehr.object(UUIDText.random(), 1, contribution: contribution)
            let second = ehr.object(UUIDText.random(), 1, contribution: contribution)
            try await store.commit(contribution, versions: [.create(first, rmType: "TEST_ITEM"), .create(second, rmType: "TEST_ITEM")])
            let deletion = ehr.contribution(ehr.audit(change: "523"))
            var deleted = ehr.object(second.objectID, 2, contribution: deletion)
            deleted.lifecycleState = VersionLifecycleState.deleted.rawValue
            try await store.commit(deletion, versions: [.update(deleted, rmType: "TEST_ITEM", precedingVersion: 1)])

            #expect(try await test.ledger() == [ehr.statusID: 2, first.objectID: 1])
            let log = try await test.database.query("SELECT object_id, version_number, creation FROM test_ledger_log ORDER BY object_id, version_number")
            #expect(log.count == 5)
            #expect(log.filter { $0.string(0) == ehr.statusID }.map { $0.bool(2) } == [true, false])
            // A refused commit reaches no projection.
            await #expect(throws: StoreError.self) { try await ehr.update(in: store, to: 2) }
            #expect(try await test.database.query("SELECT COUNT(*) FROM test_ledger_log").first?.int(0) == 5)
        }
    }

    /// `socle reindex`: the tables are dropped and filled again from the
    /// latest version of each object, with the same rows.
    @Test(arguments: TestEngine.available)
    func aForcedRebuildGivesTheSameRows(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, projections: Self.withLedger) { test in
            let store = test.store.versions
            var fixtures: [EHRFixture] = []
            for index in 0..<(Projections.pageSize * 2 + 3) {
                let ehr = EHRFixture()
                try await ehr.create(in: store)
                if index % 3 == 0 { try await ehr.update(in: store, to: 2) }
                fixtures.append(ehr)
            }
            let before = try await test.ledger()
            #expect(before.count == fixtures.count)
            let states = Mutex<[ProjectionState]>([])
            let rebuilt = try await store.projections.rebuild("test_ledger", owner: "test", force: true) { state in states.withLock { $0.append(state) } }
            let reported = states.withLock { $0 }
            #expect(rebuilt)
            #expect(try await test.ledger() == before)
            #expect(reported.last?.phase == .current && reported.last?.done == fixtures.count && reported.last?.total == fixtures.count)
            #expect(try await store.projections.state("test_ledger")?.phase == .current)
            // A rebuild hands each object its latest version as a replacement.
            #expect(try await test.database.query("SELECT COUNT(*) FROM test_ledger_log WHERE creation = 0").first?.int(0) ?? 0 >= Int64(fixtures.count))
        }
    }

    /// A projection met for the first time on a database with versions is
    /// stale until rebuilt; on an empty one it is current at once. One
    /// whose version changed gets fresh tables and is stale; one built by a
    /// newer Socle is refused. The AQL index answers 503 while stale.
    @Test(arguments: TestEngine.available)
    func aNewOrChangedProjectionIsDetectedAtStart(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            #expect(try await test.store.projections.states().map(\.phase) == Store.standardProjections.map { _ in .current })
            try await EHRFixture().create(in: test.store.versions)
            // The same database, opened by a Socle with one more projection.
            let withLedger = Store(database: test.database, projections: Self.withLedger)
            let states = try await withLedger.projections.prepare()
            #expect(states.first { $0.name == "test_ledger" }?.phase == .stale)
            #expect(try await withLedger.projections.rebuild("test_ledger", owner: "test", force: false))
            #expect(try await test.ledger().count == 1)
            // Version 2 of the projection: fresh, empty tables, stale.
            var second = LedgerProjection()
            second.version = 2
            let upgraded = Store(database: test.database, projections: Store.standardProjections + [second])
            #expect(try await upgraded.projections.prepare().first { $0.name == "test_ledger" }?.phase == .stale)
            #expect(try await test.ledger().isEmpty)
            // Back to version 1: the database was built by a newer one.
            await #expect(throws: StoreError.self) { try await withLedger.projections.prepare() }
            // The AQL index while stale: queries are refused with the command that rebuilds it.
            try await test.database.transaction([SQLStatement("UPDATE projection SET state = 'stale' WHERE name = 'aql_index'")])
            let plan = try Planner(systemID: "test").plan(try Checker().check(try Parser.parse("SELECT c FROM EHR e CONTAINS COMPOSITION c")))
            do {
                _ = try await test.store.aql.run(plan)
                Issue.record("a stale index answered")
            } catch let error as StoreError {
                #expect(error.code == .rebuilding)
                #expect(error.message.contains("aql_index"))
            }
            try await test.store.projections.rebuild(AQLIndexProjection.name, owner: "test", force: false)
            #expect(try await test.store.aql.run(plan).isEmpty)
        }
    }

    /// A rebuild left by its owner is taken up by another process after
    /// `abandonedAfter`, from where it stopped; a live one is not.
    @Test(arguments: TestEngine.available)
    func anAbandonedRebuildIsTakenOver(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, projections: Self.withLedger) { test in
            for _ in 0..<5 { try await EHRFixture().create(in: test.store.versions) }
            let now = ISODateTime.now().microsecondsSinceEpoch
            try await test.database.transaction([
                SQLStatement("UPDATE projection SET state = 'building', owner = 'gone', heartbeat = ? WHERE name = 'test_ledger'", [.integer(now)])
            ])
            #expect(try await !test.store.projections.rebuild("test_ledger", owner: "second", force: false))
            try await test.database.transaction([
                SQLStatement(
                    "UPDATE projection SET heartbeat = ? WHERE name = 'test_ledger'", [.integer(now - Projections.abandonedAfter - 1)])
            ])
            #expect(try await test.store.projections.rebuild("test_ledger", owner: "second", force: false))
            #expect(try await test.ledger().count == 5)
        }
    }

    /// What the server runs in the background (`ProjectionMaintenance`): a
    /// stale projection is rebuilt while the store serves.
    @Test(arguments: TestEngine.available)
    func theMaintenanceLoopRebuildsAStaleProjection(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            for _ in 0..<3 { try await EHRFixture().create(in: test.store.versions) }
            let withLedger = Store(database: test.database, projections: Self.withLedger)
            #expect(try await withLedger.projections.prepare().first { $0.name == "test_ledger" }?.phase == .stale)
            let maintenance = Task {
                await withLedger.projections.maintain(owner: "server", every: .milliseconds(20), progress: { _ in }, failure: { _, _ in })
            }
            var phase = try await withLedger.projections.state("test_ledger")?.phase
            for _ in 0..<500 where phase != .current {
                try await Task.sleep(for: .milliseconds(20))
                phase = try await withLedger.projections.state("test_ledger")?.phase
            }
            maintenance.cancel()
            await maintenance.value
            #expect(phase == .current)
            #expect(try await test.ledger().count == 3)
        }
    }
}
