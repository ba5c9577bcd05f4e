import AQL

/// The node index's two tables, defined once: the AQL index projection
/// creates them and writes their rows from these columns, and the plan
/// renderer names the same columns when it reads them (docs/architecture.md
/// §AQL, the node index). The version store's own tables, which plans also
/// read, are named in `canonicalColumns`.
enum IndexSchema {
    /// One column: what a plan calls it, its SQL name and type, and how a row fills it.
    struct Column<Row>: Sendable {
        let plan: PlanColumn
        let name: String
        let type: @Sendable (DatabaseKind) -> String
        let value: @Sendable (Row) -> SQLValue

        init(_ plan: PlanColumn, _ name: String, _ type: String, _ value: @escaping @Sendable (Row) -> SQLValue) {
            self.plan = plan
            self.name = name
            self.type = { kind in kind == .postgresql ? type.replacingOccurrences(of: "REAL", with: "DOUBLE PRECISION") : type }
            self.value = value
        }
    }

    /// `name TYPE, …` of a table's columns, for its CREATE TABLE.
    static func definitions<Row>(_ columns: [Column<Row>], _ kind: DatabaseKind) -> String {
        columns.map { "\($0.name) \($0.type(kind))" }.joined(separator: ", ")
    }

    /// One row into `table`, each column from the row.
    static func insert<Row>(into table: String, _ columns: [Column<Row>], _ row: Row) -> SQLStatement {
        SQLStatement(
            "INSERT INTO \(table) (\(columns.map(\.name).joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))",
            columns.map { $0.value(row) })
    }

    /// What the composition row is made from.
    struct CompositionRow {
        var record: VersionRecord
        var index: CompositionIndex
    }

    /// What a node row is made from: the node, and its composition's archetype
    /// for the nodes above the first archetype root below it.
    struct NodeRow {
        var node: IndexedNode
        var compositionArchetype: String
    }

    static let compositionTable = "aql_composition"
    static let nodeTable = "aql_node"
    /// The key of a composition row, which its node rows carry.
    static let key = "cid"

    /// One row per indexed (latest, not deleted) composition.
    static let compositionColumns: [Column<CompositionRow>] = [
        Column(.objectID, "object_id", "TEXT NOT NULL UNIQUE") { .text($0.record.objectID) },
        Column(.versionNumber, "version_number", "INTEGER NOT NULL") { SQLValue($0.record.versionNumber) },
        Column(.ehrID, "ehr_id", "TEXT NOT NULL") { SQLValue($0.record.ehrID) },
        Column(.templateID, "template_id", "TEXT") { SQLValue($0.index.templateID) },
        Column(.archetypeID, "archetype_id", "TEXT NOT NULL") { .text($0.index.archetypeID) },
        Column(.composer, "composer", "TEXT") { SQLValue($0.index.composer) },
        Column(.startTime, "start_time", "BIGINT") { SQLValue($0.index.startTime) },
        Column(.timeCommitted, "time_committed", "BIGINT NOT NULL") { .integer($0.record.audit.timeCommitted) },
    ]

    /// One row per LOCATABLE and per data value (`NodeProjection`), after its composition's key.
    static let nodeColumns: [Column<NodeRow>] = [
        Column(.num, "num", "INTEGER NOT NULL") { SQLValue($0.node.num) },
        Column(.numCap, "num_cap", "INTEGER NOT NULL") { SQLValue($0.node.numCap) },
        Column(.rootNum, "root_num", "INTEGER NOT NULL") { SQLValue($0.node.rootNum) },
        Column(.rmType, "rm_type", "TEXT NOT NULL") { .text($0.node.rmType) },
        Column(.nodeID, "node_id", "TEXT") { SQLValue($0.node.archetypeNodeID) },
        Column(.archetypeID, "archetype_id", "TEXT NOT NULL") { .text($0.node.archetypeID ?? $0.compositionArchetype) },
        Column(.apath, "apath", "TEXT NOT NULL") { .text($0.node.archetypePath) },
        Column(.name, "name", "TEXT") { SQLValue($0.node.name) },
        Column(.numValue, "num_value", "REAL") { SQLValue($0.node.number) },
        Column(.strValue, "str_value", "TEXT") { SQLValue($0.node.string) },
        Column(.code, "code", "TEXT") { SQLValue($0.node.code) },
        Column(.terminology, "terminology", "TEXT") { SQLValue($0.node.terminology) },
        Column(.units, "units", "TEXT") { SQLValue($0.node.units) },
        Column(.jsonPath, "jpath", "TEXT NOT NULL") { .text($0.node.jsonPath) },
    ]

    /// The node columns a selected node is read from, in `IndexedLeaf`'s order.
    static let leafColumns: [PlanColumn] = [.rmType, .numValue, .strValue, .code, .terminology, .units, .name]

    /// The version store's columns that plans read (migrations 1 to 5).
    static let canonicalColumns: [PlanTable: [PlanColumn: String]] = [
        .version: [
            .objectID: "object_id", .versionNumber: "version_number", .ehrID: "ehr_id", .contributionID: "contribution_id", .systemID: "system_id",
            .committer: "committer", .timeCommitted: "time_committed", .changeType: "change_type", .description: "description",
            .lifecycleState: "lifecycle_state", .document: "data",
        ],
        .versionedObject: [.objectID: "object_id", .ehrID: "ehr_id", .timeCreated: "time_created", .latestVersion: "latest_version"],
        .ehr: [
            .ehrID: "ehr_id", .systemID: "system_id", .timeCreated: "time_created", .subjectID: "subject_id", .subjectNamespace: "subject_namespace",
            .isQueryable: "is_queryable", .isModifiable: "is_modifiable", .statusObjectID: "status_object_id",
        ],
    ]

    static let tableNames: [PlanTable: String] = [
        .composition: compositionTable, .node: nodeTable, .version: "object_version", .document: "object_version", .versionedObject: "versioned_object",
        .ehr: "ehr",
        .folder: folderTable, .folderItem: folderItemTable,
    ]

    static let folderTable = "aql_folder"
    static let folderItemTable = "aql_folder_item"

    /// What a folder row is made from: the directory's version and the folder's node.
    struct FolderRow {
        var record: VersionRecord
        var ehrID: String
        var node: IndexedNode
    }

    /// What an item row is made from: the directory, the folder's number, the object named.
    struct FolderItemRow {
        var objectID: String
        var num: Int
        var itemID: String
    }

    /// One row per FOLDER of the latest version of each directory, numbered
    /// as `NodeProjection` numbers the directory (a folder's subfolders are
    /// within its `num`…`num_cap`); its key is `(object_id, num)`.
    static let folderColumns: [Column<FolderRow>] = [
        Column(.objectID, "object_id", "TEXT NOT NULL") { .text($0.record.objectID) },
        Column(.versionNumber, "version_number", "INTEGER NOT NULL") { SQLValue($0.record.versionNumber) },
        Column(.ehrID, "ehr_id", "TEXT NOT NULL") { .text($0.ehrID) },
        Column(.num, "num", "INTEGER NOT NULL") { SQLValue($0.node.num) },
        Column(.numCap, "num_cap", "INTEGER NOT NULL") { SQLValue($0.node.numCap) },
        Column(.nodeID, "node_id", "TEXT") { SQLValue($0.node.archetypeNodeID) },
        Column(.name, "name", "TEXT") { SQLValue($0.node.name) },
        Column(.jsonPath, "jpath", "TEXT NOT NULL") { .text($0.node.jsonPath) },
    ]

    /// One row per item of a folder; its key is every column.
    static let folderItemColumns: [Column<FolderItemRow>] = [
        Column(.objectID, "object_id", "TEXT NOT NULL") { .text($0.objectID) },
        Column(.num, "num", "INTEGER NOT NULL") { SQLValue($0.num) },
        Column(.itemID, "item_id", "TEXT NOT NULL") { .text($0.itemID) },
    ]

    /// The SQL name of a plan column in a plan table. Every pair the planner
    /// makes is defined above; another is a planner bug, reported as such.
    static func name(_ column: PlanColumn, in table: PlanTable) throws -> String {
        let found: String?
        switch table {
        case .composition: found = column == .cid ? key : compositionColumns.first { $0.plan == column }?.name
        case .node: found = column == .cid ? key : nodeColumns.first { $0.plan == column }?.name
        case .version, .versionedObject, .ehr: found = canonicalColumns[table]?[column]
        case .document: found = canonicalColumns[.version]?[column]
        case .folder: found = folderColumns.first { $0.plan == column }?.name
        case .folderItem: found = folderItemColumns.first { $0.plan == column }?.name
        }
        guard let found else { throw PlanRenderingError("the \(table.rawValue) table has no column \(column.rawValue)") }
        return found
    }

    /// The same, for table definitions.
    static func sqlName(_ column: PlanColumn, _ table: PlanTable) -> String {
        (try? name(column, in: table)) ?? column.rawValue
    }

    /// The column that is never null in a row of the table: whether a LEFT JOIN matched.
    static func keyColumn(_ table: PlanTable) -> PlanColumn {
        switch table {
        case .composition, .node: .cid
        case .version, .document, .versionedObject, .folder, .folderItem: .objectID
        case .ehr: .ehrID
        }
    }
}

/// A plan the renderer cannot write: a bug of the planner, never of the query.
struct PlanRenderingError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
