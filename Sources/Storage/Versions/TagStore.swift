/// One ITEM_TAG (RM 1.1.0 common §Tags): a key, an optional value, and an
/// optional path into its target. Tags are not versioned: they are set and
/// removed in place, and every change is kept in `item_tag_log` (who, when, what).
public struct ItemTagRecord: Sendable, Equatable, Hashable {
    public var key: String
    public var value: String?
    /// The path within the target the tag is about; nil for the whole target.
    public var targetPath: String?

    public init(key: String, value: String? = nil, targetPath: String? = nil) {
        self.key = key
        self.value = value
        self.targetPath = targetPath
    }
}

/// What a tag is attached to: a versioned object of an EHR, or one of its versions.
public struct TagTarget: Sendable, Hashable {
    public var ehrID: String
    public var objectID: String
    /// The version tagged; nil for the versioned object itself.
    public var versionNumber: Int?

    public init(ehrID: String, objectID: String, versionNumber: Int? = nil) {
        self.ehrID = ehrID
        self.objectID = objectID
        self.versionNumber = versionNumber
    }

    /// The stored form of `versionNumber`: 0 stands for the versioned object.
    var storedVersion: SQLValue { .integer(Int64(versionNumber ?? 0)) }
}

/// A tag as stored, with its target and the RM type of the object tagged.
public struct StoredItemTag: Sendable, Equatable {
    public var target: TagTarget
    public var rmType: String
    public var tag: ItemTagRecord
}

/// The tags a target is to have from now on, and who sets them.
public struct TagReplacement: Sendable {
    public var target: TagTarget
    public var tags: [ItemTagRecord]
    public var changedBy: String
    public var changedAt: Int64

    public init(target: TagTarget, tags: [ItemTagRecord], changedBy: String, changedAt: Int64) {
        self.target = target
        self.tags = tags
        self.changedBy = changedBy
        self.changedAt = changedAt
    }
}

/// The filters of the EHR tag list (ITS-REST development §ITEM_TAG, `ehr_tags_get`).
public struct TagFilter: Sendable, Equatable {
    public var keys: [String]
    public var values: [String]
    public var targetPaths: [String]

    public init(keys: [String] = [], values: [String] = [], targetPaths: [String] = []) {
        self.keys = keys
        self.values = values
        self.targetPaths = targetPaths
    }
}

/// ITEM_TAGs of the versioned objects of EHRs and of their versions. A tag
/// is unique by target, key and target path. Erasure removes them with the
/// objects they tag (`VersionStore.erasure`).
public struct TagStore: Sendable {
    let database: any SQLDatabase

    init(database: any SQLDatabase) {
        self.database = database
    }

    static let createStatements = [
        """
        CREATE TABLE item_tag (
            object_id TEXT NOT NULL,
            version_number INTEGER NOT NULL,
            tag_key TEXT NOT NULL,
            target_path TEXT NOT NULL,
            tag_value TEXT,
            ehr_id TEXT NOT NULL,
            PRIMARY KEY (object_id, version_number, tag_key, target_path)
        )
        """,
        "CREATE INDEX item_tag_ehr_idx ON item_tag (ehr_id, tag_key)",
        """
        CREATE TABLE item_tag_log (
            ehr_id TEXT NOT NULL,
            object_id TEXT NOT NULL,
            version_number INTEGER NOT NULL,
            tag_key TEXT NOT NULL,
            target_path TEXT NOT NULL,
            tag_value TEXT,
            change TEXT NOT NULL,
            changed_by TEXT NOT NULL,
            changed_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX item_tag_log_object_idx ON item_tag_log (object_id)",
        "CREATE INDEX item_tag_log_ehr_idx ON item_tag_log (ehr_id)",
    ]

    /// Gives the target exactly `replacement.tags`, logging what goes and what comes.
    public func replace(_ replacement: TagReplacement) async throws {
        try await database.transaction(Self.statements(replacement))
    }

    /// Removes the target's tags with this key (whatever their paths);
    /// `notFound` when it has none.
    public func remove(_ target: TagTarget, key: String, changedBy: String, changedAt: Int64) async throws {
        let match = "object_id = ? AND version_number = ? AND tag_key = ?"
        let binds: [SQLValue] = [.text(target.objectID), target.storedVersion, .text(key)]
        try await database.transaction([
            SQLStatement("SELECT 1 FROM item_tag WHERE \(match)", binds, mustReturnRow: StoreError(.notFound, "there is no tag '\(key)' on this target")),
            Self.log("removed", where: match, binds, changedBy: changedBy, changedAt: changedAt),
            SQLStatement("DELETE FROM item_tag WHERE \(match)", binds),
        ])
    }

    /// The statements that replace a target's tags, for a transaction of
    /// their own or for a commit's (tags sent with a version).
    static func statements(_ replacement: TagReplacement) -> [SQLStatement] {
        let target = replacement.target
        let match = "object_id = ? AND version_number = ?"
        let binds: [SQLValue] = [.text(target.objectID), target.storedVersion]
        var statements = [
            log("removed", where: match, binds, changedBy: replacement.changedBy, changedAt: replacement.changedAt),
            SQLStatement("DELETE FROM item_tag WHERE \(match)", binds),
        ]
        for tag in replacement.tags {
            let row: [SQLValue] = [
                .text(target.objectID), target.storedVersion, .text(tag.key), .text(tag.targetPath ?? ""), SQLValue(tag.value), .text(target.ehrID),
            ]
            statements.append(
                SQLStatement(
                    "INSERT INTO item_tag (object_id, version_number, tag_key, target_path, tag_value, ehr_id) VALUES (?, ?, ?, ?, ?, ?)", row,
                    onUniqueViolation: StoreError(.invalidValue, "tag '\(tag.key)' is given twice for the same target path")))
            statements.append(
                SQLStatement(
                    """
                    INSERT INTO item_tag_log (object_id, version_number, tag_key, target_path, tag_value, ehr_id, change, changed_by, changed_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'set', ?, ?)
                    """, row + [.text(replacement.changedBy), .integer(replacement.changedAt)]))
        }
        return statements
    }

    static func log(_ change: String, where match: String, _ binds: [SQLValue], changedBy: String, changedAt: Int64) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO item_tag_log (object_id, version_number, tag_key, target_path, tag_value, ehr_id, change, changed_by, changed_at)
            SELECT object_id, version_number, tag_key, target_path, tag_value, ehr_id, '\(change)', ?, ? FROM item_tag WHERE \(match)
            """, [.text(changedBy), .integer(changedAt)] + binds)
    }

    /// The tags of one target, by key and path.
    public func tags(of target: TagTarget) async throws -> [StoredItemTag] {
        try await read(
            "t.ehr_id = ? AND t.object_id = ? AND t.version_number = ?", [.text(target.ehrID), .text(target.objectID), target.storedVersion])
    }

    /// The tags of every target of an EHR; each filter given matches any of its values.
    public func tags(ehrID: String, matching filter: TagFilter) async throws -> [StoredItemTag] {
        var condition = "t.ehr_id = ?"
        var binds: [SQLValue] = [.text(ehrID)]
        for (column, values) in [("t.tag_key", filter.keys), ("t.tag_value", filter.values), ("t.target_path", filter.targetPaths)] where !values.isEmpty {
            condition += " AND \(column) IN (\(values.map { _ in "?" }.joined(separator: ", ")))"
            binds += values.map { .text($0) }
        }
        return try await read(condition, binds)
    }

    /// Who changed a target's tags, oldest first: (change, key, value, by, at).
    public func log(of target: TagTarget) async throws -> [(change: String, tag: ItemTagRecord, changedBy: String, changedAt: Int64)] {
        try await database.query(
            """
            SELECT change, tag_key, tag_value, target_path, changed_by, changed_at FROM item_tag_log
            WHERE object_id = ? AND version_number = ? ORDER BY changed_at, change DESC, tag_key
            """, [.text(target.objectID), target.storedVersion]
        ).map { row in
            let path = row.string(3) ?? ""
            return (
                row.string(0) ?? "", ItemTagRecord(key: row.string(1) ?? "", value: row.string(2), targetPath: path.isEmpty ? nil : path),
                row.string(4) ?? "", row.int(5) ?? 0
            )
        }
    }

    func read(_ condition: String, _ binds: [SQLValue]) async throws -> [StoredItemTag] {
        try await database.query(
            """
            SELECT t.ehr_id, t.object_id, t.version_number, t.tag_key, t.tag_value, t.target_path, o.rm_type
            FROM item_tag t JOIN versioned_object o ON o.object_id = t.object_id
            WHERE \(condition) ORDER BY t.object_id, t.version_number, t.tag_key, t.target_path
            """, binds
        ).map { row in
            let version = Int(row.int(2) ?? 0)
            let path = row.string(5) ?? ""
            return StoredItemTag(
                target: TagTarget(ehrID: row.string(0) ?? "", objectID: row.string(1) ?? "", versionNumber: version == 0 ? nil : version),
                rmType: row.string(6) ?? "",
                tag: ItemTagRecord(key: row.string(3) ?? "", value: row.string(4), targetPath: path.isEmpty ? nil : path))
        }
    }
}
