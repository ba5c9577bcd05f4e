import JSONCore
import OpenEHR

/// What `socle verify` found: every stored version read back and parsed,
/// and each projection's object count against the live objects it should hold.
public struct VerificationReport: Sendable {
    public struct Damaged: Sendable, Equatable {
        public var objectID: String
        public var versionNumber: Int
        public var reason: String
    }

    public struct ProjectionCount: Sendable, Equatable {
        public var name: String
        public var projected: Int
        public var expected: Int
        public var agrees: Bool { projected == expected }

        public init(name: String, projected: Int, expected: Int) {
            self.name = name
            self.projected = projected
            self.expected = expected
        }
    }

    public var versionsRead = 0
    public var damaged: [Damaged] = []
    public var projections: [ProjectionCount] = []

    public var isClean: Bool { damaged.isEmpty && projections.allSatisfy(\.agrees) }
}

extension Store {
    /// Reads every stored version, in pages of `pageSize` in key order,
    /// and checks that its bytes still parse as the JSON they were
    /// committed as (a deletion without content aside); then counts each projection's objects against the live
    /// objects it follows. `progress` is told how many versions were read.
    /// A database without Socle's schema, or at another version, is refused
    /// with the reason before anything is read.
    public func verify(pageSize: Int = 1000, progress: @Sendable (Int) -> Void = { _ in }) async throws -> VerificationReport {
        let current = (try? await Migrations.currentVersion(database)) ?? 0
        guard current == Migrations.latestVersion else {
            throw StoreError(
                .invalidValue,
                current == 0
                    ? "the database holds no Socle schema: nothing to verify"
                    : "the schema is at version \(current) and this binary's at \(Migrations.latestVersion): start socle serve on it (which migrates it) or use the matching binary")
        }
        var report = VerificationReport()
        var after: (String, Int64) = ("", -1)
        while true {
            let rows = try await database.query(
                """
                SELECT object_id, version_number, data, lifecycle_state FROM object_version
                WHERE object_id > ? OR (object_id = ? AND version_number > ?) ORDER BY object_id, version_number LIMIT ?
                """, [.text(after.0), .text(after.0), .integer(after.1), .integer(Int64(pageSize))])
            for row in rows {
                let (objectID, number) = (row.string(0) ?? "", Int(row.int(1) ?? 0))
                // A compressed document that does not inflate reads as none, and so does not parse.
                let data = StoredDocument.decode(row, 2) ?? []
                do {
                    // A deletion may carry no content (a FHIR delete); any other version is a document.
                    if !(data.isEmpty && row.string(3) == VersionLifecycleState.deleted.rawValue) { _ = try JSONParser.parse(data) }
                } catch {
                    report.damaged.append(.init(objectID: objectID, versionNumber: number, reason: "its data does not parse: \(error)"))
                }
                report.versionsRead += 1
            }
            progress(report.versionsRead)
            guard rows.count == pageSize, let last = rows.last else { break }
            after = (last.string(0) ?? "", last.int(1) ?? 0)
        }
        for projection in projections.all {
            guard let counting = projection.objectCountStatement(kind) else { continue }
            let projected = try await database.query(counting).first?.int(0) ?? 0
            let live = projection.liveObjectsStatement()
            let expected = try await database.query(live.sql, live.binds).first?.int(0) ?? 0
            report.projections.append(.init(name: projection.name, projected: Int(projected), expected: Int(expected)))
        }
        return report
    }
}
