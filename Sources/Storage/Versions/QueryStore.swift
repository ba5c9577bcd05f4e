/// Stored AQL queries (ITS-REST 1.0.3 §Definitions, stored query): one row
/// per qualified name and version. A version, once stored, is not replaced.
public struct StoredQueryRecord: Sendable, Equatable {
    public var qualifiedName: String
    public var version: String
    public var queryType: String
    public var q: String
    public var savedAt: Int64

    public init(qualifiedName: String, version: String, queryType: String, q: String, savedAt: Int64) {
        self.qualifiedName = qualifiedName
        self.version = version
        self.queryType = queryType
        self.q = q
        self.savedAt = savedAt
    }
}

public struct QueryStore: Sendable {
    let database: any SQLDatabase

    init(database: any SQLDatabase) {
        self.database = database
    }

    public func insert(_ record: StoredQueryRecord) async throws {
        try await database.transaction([
            SQLStatement(
                "INSERT INTO stored_query (qualified_name, version, query_type, q, saved_at) VALUES (?, ?, ?, ?, ?)",
                [.text(record.qualifiedName), .text(record.version), .text(record.queryType), .text(record.q), .integer(record.savedAt)],
                onUniqueViolation: StoreError(.conflict, "stored query \(record.qualifiedName) version \(record.version) already exists: store a new version"))
        ])
    }

    /// Every version of one query, or of all queries when `qualifiedName` is nil.
    public func list(_ qualifiedName: String?) async throws -> [StoredQueryRecord] {
        let columns = "SELECT qualified_name, version, query_type, q, saved_at FROM stored_query"
        let rows =
            if let qualifiedName {
                try await database.query(columns + " WHERE qualified_name = ? ORDER BY version", [.text(qualifiedName)])
            } else {
                try await database.query(columns + " ORDER BY qualified_name, version")
            }
        return rows.map { row in
            StoredQueryRecord(
                qualifiedName: row.string(0) ?? "", version: row.string(1) ?? "", queryType: row.string(2) ?? "", q: row.string(3) ?? "",
                savedAt: row.int(4) ?? 0)
        }
    }

    public func delete(qualifiedName: String, version: String) async throws {
        try await database.transaction([
            SQLStatement(
                "DELETE FROM stored_query WHERE qualified_name = ? AND version = ?", [.text(qualifiedName), .text(version)],
                mustChangeOneRow: StoreError(.notFound, "there is no stored query \(qualifiedName) version \(version)"))
        ])
    }
}
