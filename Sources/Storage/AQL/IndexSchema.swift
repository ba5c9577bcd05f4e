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
        /// Its values' kind in an array of them (`SQLValue.array`).
        let arrayElement: SQLArray.Element

        init(_ plan: PlanColumn, _ name: String, _ type: String, _ value: @escaping @Sendable (Row) -> SQLValue) {
            self.plan = plan
            self.name = name
            self.type = { kind in kind == .postgresql ? type.replacingOccurrences(of: "REAL", with: "DOUBLE PRECISION") : type }
            self.value = value
            arrayElement = type.hasPrefix("INTEGER") || type.hasPrefix("BIGINT") ? .integer : type.hasPrefix("REAL") ? .real : .text
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

    /// What a node has in common with the same node of every composition
    /// made from the same archetypes: its archetype (the composition's for
    /// the nodes above the first archetype root below it), its path from
    /// that root and its node id. Node rows name it by id (`aql_shape`),
    /// and are clustered by it, so the occurrences of one path in a
    /// composition are one run of rows in document order.
    struct Shape: Hashable {
        var archetypeID: String
        var apath: String
        var nodeID: String?

        init(_ node: IndexedNode, compositionArchetype: String) {
            archetypeID = Self.archetype(of: node, compositionArchetype)
            apath = node.archetypePath
            nodeID = node.archetypeNodeID
        }

        /// The nearest archetype root's, or the composition's above the first root.
        static func archetype(of node: IndexedNode, _ compositionArchetype: String) -> String { node.archetypeID ?? compositionArchetype }

        /// The id of a node's shape, without making the shape.
        static func id(of node: IndexedNode, compositionArchetype: String) -> Int64 {
            id(archetypeID: archetype(of: node, compositionArchetype), apath: node.archetypePath)
        }

        /// Of the archetype and path alone: they determine the node id (the
        /// path's last step, or the archetype's for its root), so a pair is
        /// one entry and a query naming both finds exactly one.
        static func id(archetypeID: String, apath: String) -> Int64 { IndexSchema.id(archetypeID, apath) }
    }

    /// Where a node is in its composition's canonical JSON, and its class:
    /// the same for the same node of every composition of the same
    /// structure (`aql_place`).
    struct Place: Hashable {
        var jsonPath: String
        var rmType: String

        init(_ node: IndexedNode) {
            jsonPath = node.jsonPath
            rmType = node.rmType
        }

        /// The id of a node's place, without making the place.
        static func id(of node: IndexedNode) -> Int64 { id(jsonPath: node.jsonPath, rmType: node.rmType) }

        static func id(jsonPath: String, rmType: String) -> Int64 { IndexSchema.id(jsonPath, rmType) }
    }

    /// The id of a shape or place: a 64-bit FNV-1a hash of its two fields,
    /// each followed by a unit separator, so that every writer (any
    /// process, any rebuild) gives it the same id without reading the
    /// table. Two of n entries share an id with a chance of about n² / 2⁶⁵
    /// (3 × 10⁻⁸ for a million).
    static func id(_ first: String, _ second: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        for byte in first.utf8 { add(byte) }
        add(0x1f)
        for byte in second.utf8 { add(byte) }
        add(0x1f)
        return Int64(bitPattern: hash)
    }

    /// One row: a random number drawn when the dictionaries are created
    /// (anew by every rebuild), which names what `NodeDictionaryCache` knows.
    static let generationTable = "aql_generation"

    /// Creates the generation's table and row unless there.
    static var generationStatements: [String] {
        [
            "CREATE TABLE IF NOT EXISTS \(generationTable) (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO \(generationTable) (id, value) VALUES (1, \(Int64.random(in: Int64.min...Int64.max))) ON CONFLICT DO NOTHING",
        ]
    }

    static let generationRead = "SELECT value FROM \(generationTable) WHERE id = 1"

    /// A commit that left out entries it knew stored finds the tables it knew them in.
    static let dictionariesChanged = StoreError(.changed, "the AQL index's dictionaries were rebuilt since this process read them")

    static func generationGuard(_ generation: Int64) -> SQLStatement {
        SQLStatement("SELECT 1 FROM \(generationTable) WHERE id = 1 AND value = ?", [.integer(generation)], mustReturnRow: dictionariesChanged)
    }

    /// A table of what node rows share, named by an id column of theirs.
    struct NodeDictionary: Sendable, Equatable {
        /// The table, and the node column holding an entry's id.
        let table: String
        let key: String
        /// The plan columns it holds.
        let columns: Set<PlanColumn>
        /// The suffixes of a node alias for an entry inside the node's
        /// `key IN (…)`, and read by the node's key elsewhere.
        let inner: String
        let lookup: String
    }

    static let shapes = NodeDictionary(table: "aql_shape", key: "shape", columns: [.archetypeID, .apath, .nodeID], inner: "s", lookup: "z")
    static let places = NodeDictionary(table: "aql_place", key: "place", columns: [.jsonPath, .rmType], inner: "p", lookup: "q")

    /// The dictionary that holds a node column, if one does.
    static func dictionary(of column: PlanColumn) -> NodeDictionary? {
        shapes.columns.contains(column) ? shapes : places.columns.contains(column) ? places : nil
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

    /// One row per LOCATABLE and per data value (`NodeProjection`), after
    /// its composition's key and the ids of its shape and place: what
    /// differs from one composition to the next.
    static let nodeColumns: [Column<IndexedNode>] = [
        Column(.num, "num", "INTEGER NOT NULL") { SQLValue($0.num) },
        Column(.numCap, "num_cap", "INTEGER NOT NULL") { SQLValue($0.numCap) },
        Column(.rootNum, "root_num", "INTEGER NOT NULL") { SQLValue($0.rootNum) },
        Column(.name, "name", "TEXT") { SQLValue($0.name) },
        Column(.numValue, "num_value", "REAL") { SQLValue($0.number) },
        Column(.strValue, "str_value", "TEXT") { SQLValue($0.string) },
        Column(.code, "code", "TEXT") { SQLValue($0.code) },
        Column(.terminology, "terminology", "TEXT") { SQLValue($0.terminology) },
        Column(.units, "units", "TEXT") { SQLValue($0.units) },
    ]

    /// One row per shape, after its id.
    static let shapeColumns: [Column<Shape>] = [
        Column(.archetypeID, "archetype_id", "TEXT NOT NULL") { .text($0.archetypeID) },
        Column(.apath, "apath", "TEXT NOT NULL") { .text($0.apath) },
        Column(.nodeID, "node_id", "TEXT") { SQLValue($0.nodeID) },
    ]

    /// One row per place, after its id.
    static let placeColumns: [Column<Place>] = [
        Column(.jsonPath, "jpath", "TEXT NOT NULL") { .text($0.jsonPath) },
        Column(.rmType, "rm_type", "TEXT NOT NULL") { .text($0.rmType) },
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
        case .node:
            found = column == .cid ? key
                : nodeColumns.first { $0.plan == column }?.name ?? shapeColumns.first { $0.plan == column }?.name
                    ?? placeColumns.first { $0.plan == column }?.name
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
