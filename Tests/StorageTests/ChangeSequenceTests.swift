import OpenEHR
import SocleTestSupport
import Storage
import Synchronization
import Testing

/// The change sequence: every contribution (and every erasure) takes a
/// position; a reader who has seen everything up to N never later finds a
/// change at or before N.
@Suite("Change sequence")
struct ChangeSequenceTests {
    @Test(arguments: TestEngine.available)
    func contributionsAndErasuresArePositionedInOrder(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let store = test.store.versions
            let feed = test.store.changes
            #expect(try await feed.lastPosition() == 0)
            let first = EHRFixture()
            try await first.create(in: store)
            try await first.update(in: store, to: 2)
            let second = EHRFixture()
            try await second.create(in: store)
            let all = try await feed.changes(after: 0, limit: 10)
            #expect(all.map(\.position) == [1, 2, 3])
            #expect(all.map(\.ehrID) == [first.ehrID, first.ehrID, second.ehrID])
            #expect(all[1].versions == [ChangedVersion(objectID: first.statusID, versionNumber: 2, rmType: "EHR_STATUS", changeType: "251", lifecycleState: "532")])
            // Pages.
            #expect(try await feed.changes(after: 0, limit: 2).map(\.position) == [1, 2])
            #expect(try await feed.changes(after: 2, limit: 2).map(\.position) == [3])
            #expect(try await feed.changes(after: 3, limit: 2).isEmpty)
            // An erasure removes the erased contributions and takes a position of its own.
            try await store.erase(ehrID: first.ehrID, erasureID: UUIDText.random(), erasedAt: 7, erasedBy: "admin")
            let after = try await feed.changes(after: 0, limit: 10)
            #expect(after.map(\.position) == [3, 4])
            #expect(after.last?.kind == .erasure && after.last?.ehrID == first.ehrID && after.last?.versions == [])
            #expect(try await feed.lastPosition() == 4)
        }
    }

    /// Concurrent writers whose transactions stay open for random times after
    /// their change is recorded (on PostgreSQL: `pg_sleep` inside the commit,
    /// so that commits end in another order than they began), and a reader
    /// polling all along: every position it reads is above the last it read,
    /// and at the end it has read every contribution exactly once.
    @Test(arguments: TestEngine.available)
    func aPollingReaderMissesNothingUnderConcurrentWriters(engine: TestEngine) async throws {
        var slow = LedgerProjection()
        slow.sleep = 0.03
        try await TestDatabase.with(engine, projections: Store.standardProjections + [slow]) { test in
            let store = test.store.versions
            let feed = test.store.changes
            let writers = 6
            let commitsEach = 15
            let committed = Shared<Set<String>>([])
            let finished = Shared(false)
            let reading = Task {
                var seen: [Change] = []
                var cursor: Int64 = 0
                while true {
                    let done = finished.value
                    let page = try await feed.changes(after: cursor, limit: 7)
                    seen += page
                    if let last = page.last { cursor = last.position }
                    if page.isEmpty && done { return seen }
                    if page.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        for _ in 0..<commitsEach {
                            let ehr = EHRFixture()
                            let contribution = ehr.contribution(ehr.audit())
                            try await store.commit(
                                contribution, versions: [.create(ehr.version(1, contribution: contribution), rmType: "EHR_STATUS")],
                                ehrChange: .create(ehr.record))
                            committed.update { _ = $0.insert(contribution.contributionID) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            finished.update { $0 = true }
            let seen = try await reading.value
            let positions = seen.map(\.position)
            #expect(positions == positions.sorted() && Set(positions).count == positions.count, "positions read out of order")
            #expect(positions == Array(1...Int64(writers * commitsEach)))
            let ids = seen.compactMap(\.contributionID)
            #expect(Set(ids) == committed.value && ids.count == writers * commitsEach)
        }
    }
}

/// A value shared between the tasks of a test.
final class Shared<Value: Sendable>: Sendable {
    let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func update(_ body: (inout Value) -> Void) { storage.withLock { body(&$0) } }
}
