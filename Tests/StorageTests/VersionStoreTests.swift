import OpenEHR
import SocleTestSupport
import Storage
import Testing

@Suite("Version store: append-only versions, contributions, optimistic concurrency")
struct VersionStoreTests {
    @Test(arguments: TestEngine.available)
    func commitsAndReadsBackEveryVersion(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let store = test.store.versions
            let ehr = EHRFixture()
            try await ehr.create(in: store, at: 1_000)
            try await ehr.update(in: store, to: 2, at: 2_000, data: #"{"v":2}"#)
            try await ehr.update(in: store, to: 3, at: 3_000, data: #"{"v":3}"#)

            let record = try #require(try await store.ehr(ehr.ehrID))
            #expect(record.isModifiable == false)
            #expect(try await store.versionedObject(ehr.statusID)?.latestVersion == 3)
            #expect(try await store.latestVersion(objectID: ehr.statusID)?.data == Array(#"{"v":3}"#.utf8))
            #expect(try await store.version(objectID: ehr.statusID, number: 2)?.data == Array(#"{"v":2}"#.utf8))
            #expect(try await store.version(objectID: ehr.statusID, at: 2_500)?.versionNumber == 2)
            #expect(try await store.version(objectID: ehr.statusID, at: 3_000)?.versionNumber == 3)
            #expect(try await store.version(objectID: ehr.statusID, at: 999) == nil)
            let history = try await store.versionHistory(objectID: ehr.statusID)
            #expect(history.map(\.versionNumber) == [1, 2, 3])
            #expect(history.map(\.audit.changeType) == ["249", "251", "251"])
            #expect(history.allSatisfy { $0.data.isEmpty })
        }
    }

    /// A composition's AQL index rows are written in inserts of at most
    /// `nodesPerStatement` rows, each taking the key the composition's insert
    /// made (`last_insert_rowid()`, `lastval()`), after dictionary entries
    /// that set no key. Two compositions of 1,205 rows each (three inserts
    /// each, and 1,205 places in three more): every row is under its own
    /// composition's key, numbered in order.
    @Test(arguments: TestEngine.available)
    func aLargeCompositionIsIndexedWholeUnderItsOwnKey(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let store = test.store.versions
            let ehr = EHRFixture()
            try await ehr.create(in: store)
            func composition(_ count: Int, offset: Int) -> String {
                let items = (0..<count).map {
                    #"{"_type":"ELEMENT","archetype_node_id":"at0004","name":{"_type":"DV_TEXT","value":"item"},"value":{"_type":"DV_COUNT","magnitude":\#($0 + offset)}}"#
                }
                return #"{"_type":"COMPOSITION","archetype_node_id":"openEHR-EHR-COMPOSITION.report.v1","name":{"_type":"DV_TEXT","value":"report"},"content":[{"_type":"OBSERVATION","archetype_node_id":"openEHR-EHR-OBSERVATION.test.v1","name":{"_type":"DV_TEXT","value":"test"},"data":{"_type":"HISTORY","archetype_node_id":"at0001","name":{"_type":"DV_TEXT","value":"history"},"events":[{"_type":"POINT_EVENT","archetype_node_id":"at0002","name":{"_type":"DV_TEXT","value":"any"},"data":{"_type":"ITEM_TREE","archetype_node_id":"at0003","name":{"_type":"DV_TEXT","value":"tree"},"items":["#
                    + items.joined(separator: ",") + "]}}]}}]}"
            }
            var objects: [String] = []
            for offset in [0, 10_000] {
                let contribution = ehr.contribution(ehr.audit())
                let objectID = UUIDText.random()
                try await store.commit(contribution, versions: [.create(ehr.object(objectID, 1, contribution: contribution, data: composition(600, offset: offset)), rmType: "COMPOSITION")])
                objects.append(objectID)
            }
            for (objectID, offset) in zip(objects, [0, 10_000]) {
                let rows = try await test.database.query(
                    "SELECT n.num, n.num_value FROM aql_node n JOIN aql_composition c ON c.cid = n.cid WHERE c.object_id = ? ORDER BY n.num", [.text(objectID)])
                #expect(rows.count == 1_205, "\(rows.count)")
                #expect(rows.map { Int($0.int(0) ?? -1) } == Array(0..<1_205))
                let values = rows.compactMap { $0.double(1) }
                #expect(values == (0..<600).map { Double($0 + offset) }, "\(values.prefix(3))")
            }
            #expect(try await test.database.query("SELECT COUNT(*) FROM aql_node").first?.int(0) == 2 * 1_205)
        }
    }

    /// Stored documents (docs/architecture.md §Storage): on SQLite a document
    /// of 256 bytes or more is kept compressed (a zero byte, its length, the
    /// zlib stream) and reads back byte for byte, by id, in the history and
    /// in AQL's reads of the stored JSON (`socle_document`); a small one, and
    /// any on PostgreSQL (which compresses large values itself), as written.
    /// A compressed document that does not inflate is named by `verify`.
    @Test(arguments: TestEngine.available)
    func documentsAreStoredCompactlyAndReadBackAsWritten(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let store = test.store.versions
            let ehr = EHRFixture()
            try await ehr.create(in: store, at: 1_000)
            let items = (0..<200).map { #"{"_type":"ELEMENT","name":{"value":"item \#($0)"},"value":{"_type":"DV_COUNT","magnitude":\#($0)}}"# }
            let large = #"{"_type":"EHR_STATUS","v":2,"items":["# + items.joined(separator: ",") + "]}"
            try await ehr.update(in: store, to: 2, at: 2_000, data: large)
            #expect(try await store.version(objectID: ehr.statusID, number: 2)?.data == Array(large.utf8))
            #expect(try await store.version(objectID: ehr.statusID, number: 1)?.data == Array(#"{"_type":"EHR_STATUS"}"#.utf8))
            let raw = try await test.database.query("SELECT data FROM object_version WHERE object_id = ? ORDER BY version_number", [.text(ehr.statusID)])
            let (small, stored) = (raw[0].bytes(0) ?? [], raw[1].bytes(0) ?? [])
            #expect(small == Array(#"{"_type":"EHR_STATUS"}"#.utf8))
            if engine == .sqlite {
                #expect(stored.first == 0 && stored.count * 4 < large.utf8.count, "\(stored.count) of \(large.utf8.count) bytes")
                let values = try await test.database.query(
                    "SELECT json_extract(socle_document(data), '$.items[199].value.magnitude') FROM object_version WHERE object_id = ? AND version_number = 2",
                    [.text(ehr.statusID)])
                #expect(values.first?.int(0) == 199)
                // A damaged stream, then a damaged length (4 GB, not allocated): verify names the version.
                var damagedStream = stored
                damagedStream[20] ^= 0xff
                damagedStream[21] ^= 0xff
                var damagedLength = stored
                (1...4).forEach { damagedLength[$0] = 0xff }
                for damaged in [damagedStream, damagedLength] {
                    try await test.database.transaction([
                        SQLStatement("UPDATE object_version SET data = ? WHERE object_id = ? AND version_number = 2", [.blob(damaged), .text(ehr.statusID)])
                    ])
                    let report = try await test.store.verify()
                    #expect(report.damaged.map(\.objectID) == [ehr.statusID] && report.damaged.first?.versionNumber == 2, "\(report.damaged)")
                }
            } else {
                #expect(stored == Array(large.utf8))
                // TOAST compresses it with LZ4 (migration 11), smaller than a quarter.
                let compressed = try await test.database.query(
                    "SELECT pg_column_compression(data), pg_column_size(data) FROM object_version WHERE object_id = ? AND version_number = 2",
                    [.text(ehr.statusID)])
                #expect(compressed.first?.string(0) == "lz4")
                #expect((compressed.first?.int(1)).map { $0 * 4 < large.utf8.count } == true, "\(compressed)")
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func refusesAStaleUpdateAndWritesNothing(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let store = test.store.versions
            let ehr = EHRFixture()
            try await ehr.create(in: store)
            try await ehr.update(in: store, to: 2)
            let before = try await test.rowCounts()
            await #expect(throws: StoreError(.preconditionFailed, "version 1 of \(ehr.statusID) is not the latest version: it has been changed since")) {
                try await ehr.update(in: store, to: 2)
            }
            #expect(try await test.rowCounts() == before)
        }
    }

    @Test(arguments: TestEngine.available)
    func twoConcurrentUpdatesOfTheSameVersionExactlyOneWins(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let store = test.store.versions
            let ehr = EHRFixture()
            try await ehr.create(in: store)
            for round in 2...6 {
                let outcomes = await withTaskGroup(of: Bool.self) { group in
                    for _ in 0..<4 {
                        group.addTask { (try? await ehr.update(in: store, to: round)) != nil }
                    }
                    return await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 }.count == 1, "round \(round)")
            }
            #expect(try await store.versionHistory(objectID: ehr.statusID).map(\.versionNumber) == [1, 2, 3, 4, 5, 6])
            #expect(try await test.rowCounts(ehrID: ehr.ehrID)["contribution"] == 6)
        }
    }

    @Test(arguments: TestEngine.available)
    func aFailureInTheMiddleOfAContributionLeavesNothingBehind(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let store = test.store.versions
            let existing = EHRFixture()
            try await existing.create(in: store)
            let before = try await test.rowCounts()

            // A new EHR whose second version collides with an existing object.
            let ehr = EHRFixture()
            let contribution = ehr.contribution(ehr.audit())
            var clash = ehr.version(1, contribution: contribution)
            clash.objectID = existing.statusID
            await #expect(throws: StoreError.self) {
                try await store.commit(
                    contribution,
                    versions: [.create(ehr.version(1, contribution: contribution), rmType: "EHR_STATUS"), .create(clash, rmType: "COMPOSITION")],
                    ehrChange: .create(ehr.record))
            }
            #expect(try await test.rowCounts() == before)
            #expect(try await store.ehr(ehr.ehrID) == nil)

            // A statement that fails outright, after others succeeded.
            await #expect(throws: (any Error).self) {
                try await test.database.transaction([
                    SQLStatement("INSERT INTO erasure_log (erasure_id, ehr_id, erased_at, erased_by, versions_erased, contributions_erased) VALUES ('e', 'x', 1, 'u', 0, 0)"),
                    SQLStatement("INSERT INTO no_such_table VALUES (1)"),
                ])
            }
            #expect(try await test.rowCounts() == before)
        }
    }

    @Test(arguments: TestEngine.available)
    func aSubjectBelongsToOneEHR(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let store = test.store.versions
            var first = EHRFixture()
            first.subjectID = "ins-1"
            try await first.create(in: store)
            var second = EHRFixture()
            second.subjectID = "ins-1"
            await #expect(throws: StoreError.self) { try await second.create(in: store) }
            #expect(try await store.ehr(subjectID: "ins-1", subjectNamespace: "patients")?.ehrID == first.ehrID)
            // Two anonymous EHRs (no subject) do not collide.
            try await EHRFixture().create(in: store)
            try await EHRFixture().create(in: store)
        }
    }

    @Test(arguments: TestEngine.available)
    func erasureRemovesEveryRowOfTheEHRAndIsLogged(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let store = test.store.versions
            let kept = EHRFixture()
            try await kept.create(in: store)
            let erased = EHRFixture()
            try await erased.create(in: store)
            try await erased.update(in: store, to: 2)
            let keptBefore = try await test.rowCounts(ehrID: kept.ehrID)

            try await store.erase(ehrID: erased.ehrID, erasureID: UUIDText.random(), erasedAt: 42, erasedBy: "admin")

            let after = try await test.rowCounts(ehrID: erased.ehrID)
            for table in Migrations.ehrTables { #expect(after[table] == 0, "\(table)") }
            #expect(try await test.rowCounts(ehrID: kept.ehrID) == keptBefore)
            let log = try await store.erasures(ehrID: erased.ehrID)
            #expect(log.count == 1)
            #expect(log.first?.erasedBy == "admin")
            #expect(log.first?.versionsErased == 2)
            #expect(log.first?.contributionsErased == 2)

            await #expect(throws: StoreError(.notFound, "EHR \(erased.ehrID) does not exist")) {
                try await store.erase(ehrID: erased.ehrID, erasureID: UUIDText.random(), erasedAt: 43, erasedBy: "admin")
            }
            #expect(try await store.erasures(ehrID: erased.ehrID).count == 1)
        }
    }
}

@Suite("Schema migrations")
struct MigrationTests {
    @Test(arguments: TestEngine.available)
    func appliesOnceAndRecordsTheVersion(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, migrate: false) { test in
            #expect(try await Migrations.migrate(test.database) == Migrations.latestVersion)
            #expect(try await Migrations.migrate(test.database) == Migrations.latestVersion)
            let rows = try await test.database.query("SELECT version FROM schema_migration ORDER BY version")
            #expect(rows.map { $0.int(0) } == (1...Migrations.latestVersion).map { Int64($0) })
        }
    }

    @Test(arguments: TestEngine.available)
    func refusesADatabaseNewerThanTheBinary(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            try await test.database.transaction([
                SQLStatement("INSERT INTO schema_migration (version, description, applied_at) VALUES (?, 'from the future', 0)", [SQLValue(Migrations.latestVersion + 1)])
            ])
            do {
                try await Migrations.migrate(test.database)
                Issue.record("a newer schema was accepted")
            } catch let error as StoreError {
                #expect(error.code == .schemaTooNew)
                #expect(error.message.contains("newer than this Socle binary"))
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func twoNodesMigratingAtOnceBothSucceed(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, migrate: false) { test in
            async let first = Migrations.migrate(test.database)
            async let second = Migrations.migrate(test.database)
            let versions = try await [first, second]
            #expect(versions == [Migrations.latestVersion, Migrations.latestVersion])
        }
    }
}
