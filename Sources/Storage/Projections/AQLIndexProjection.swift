import AQL
import JSONCore
import OpenEHR

/// The AQL node index as a projection (docs/architecture.md §AQL): for the
/// latest, not deleted version of each composition, one composition row and
/// its node rows (`NodeProjection`), in the tables `IndexSchema` defines.
public struct AQLIndexProjection: Projection {
    public static let name = "aql_index"
    public var name: String { Self.name }
    /// 1: the index of migration 3 (rows clustered by `(cid, apath, num)`,
    /// partial value and code indexes). 2: each node's place in the
    /// canonical JSON (`jpath`), and rows for EVENT_CONTEXT, FEEDER_AUDIT
    /// and ISM_TRANSITION (issue 19 §1, §2).
    public var version: Int { 2 }
    public var rmTypes: Set<String>? { ["COMPOSITION"] }
    public var tables: [String] { [IndexSchema.compositionTable, IndexSchema.nodeTable] }

    public init() {}

    public func createStatements(_ kind: DatabaseKind) -> [String] {
        let key = kind == .postgresql ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY"
        let composition = IndexSchema.definitions(IndexSchema.compositionColumns, kind)
        let node = IndexSchema.definitions(IndexSchema.nodeColumns, kind)
        func name(_ column: PlanColumn) -> String { IndexSchema.sqlName(column, .node) }
        func own(_ column: PlanColumn) -> String { IndexSchema.sqlName(column, .composition) }
        let (archetype, apath, num, value, code) = (name(.archetypeID), name(.apath), name(.num), name(.numValue), name(.code))
        let table = IndexSchema.compositionTable
        let nodes = IndexSchema.nodeTable
        return [
            "CREATE TABLE \(table) (\(IndexSchema.key) \(key), \(composition))",
            "CREATE INDEX \(table)_ehr_idx ON \(table) (\(own(.ehrID)))",
            // context/start_time: the time population queries most often filter on.
            "CREATE INDEX \(table)_start_idx ON \(table) (\(own(.startTime)))",
            "CREATE INDEX \(table)_archetype_idx ON \(table) (\(own(.archetypeID)))",
            // Clustered by (cid, apath, num): a path below a known node is one
            // seek, and so is an archetype root (apath '').
            "CREATE TABLE \(nodes) (\(IndexSchema.key) BIGINT NOT NULL, \(node), PRIMARY KEY (\(IndexSchema.key), \(apath), \(num)))"
                + (kind == .postgresql ? "" : " WITHOUT ROWID"),
            // Partial: only rows a query can start from (a number or a date-time,
            // an archetype root; a code). Container rows are reached from their
            // composition by the clustered key, and leaving them out halves the
            // pages a commit dirties (IPS-sized commits 2.2× faster, measured).
            "CREATE INDEX \(nodes)_value_idx ON \(nodes) (\(archetype), \(apath), \(value)) WHERE \(value) IS NOT NULL OR \(apath) = ''",
            "CREATE INDEX \(nodes)_code_idx ON \(nodes) (\(archetype), \(apath), \(code)) WHERE \(code) IS NOT NULL",
        ]
    }

    public func dropStatements(_ kind: DatabaseKind) -> [String] {
        ["DROP TABLE IF EXISTS \(IndexSchema.nodeTable)", "DROP TABLE IF EXISTS \(IndexSchema.compositionTable)"]
    }

    /// Compositions live in EHRs.
    public var records: ProjectedRecords { .ofEHRs }

    /// One composition row per live composition.
    public func objectCountStatement(_ kind: DatabaseKind) -> String? { "SELECT COUNT(*) FROM \(IndexSchema.compositionTable)" }

    public func statements(for version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement] {
        var statements = version.isCreation ? [] : removal(objectID: version.record.objectID)
        guard !version.isDeleted, let document = version.document else { return statements }
        statements += insertion(CompositionIndex(composition: document, templateID: version.templateID), version.record, kind)
        return statements
    }

    public func erasureStatements(_ kind: DatabaseKind) -> [SQLStatement] {
        let erased = "\(IndexSchema.sqlName(.objectID, .composition)) IN (SELECT object_id FROM erased_object)"
        return [
            SQLStatement(
                "DELETE FROM \(IndexSchema.nodeTable) WHERE \(IndexSchema.key) IN (SELECT \(IndexSchema.key) FROM \(IndexSchema.compositionTable) WHERE \(erased))"
            ),
            SQLStatement("DELETE FROM \(IndexSchema.compositionTable) WHERE \(erased)"),
        ]
    }

    func removal(objectID: String) -> [SQLStatement] {
        let object = "\(IndexSchema.sqlName(.objectID, .composition)) = ?"
        return [
            SQLStatement(
                "DELETE FROM \(IndexSchema.nodeTable) WHERE \(IndexSchema.key) IN (SELECT \(IndexSchema.key) FROM \(IndexSchema.compositionTable) WHERE \(object))",
                [.text(objectID)]),
            SQLStatement("DELETE FROM \(IndexSchema.compositionTable) WHERE \(object)", [.text(objectID)]),
        ]
    }

    /// Rows per node insert: 15 columns each, well under both engines' bind limits.
    static let nodesPerStatement = 400

    /// The composition row, then its nodes in multi-row inserts that take
    /// the composition's key from the insert just made (`last_insert_rowid()`
    /// on SQLite, `lastval()` on PostgreSQL: both per connection, so inside
    /// the commit's transaction).
    func insertion(_ index: CompositionIndex, _ record: VersionRecord, _ kind: DatabaseKind) -> [SQLStatement] {
        let compositionRow = IndexSchema.CompositionRow(record: record, index: index)
        var statements = [IndexSchema.insert(into: IndexSchema.compositionTable, IndexSchema.compositionColumns, compositionRow)]
        let key = kind == .postgresql ? "lastval()" : "last_insert_rowid()"
        let nodeColumns = IndexSchema.nodeColumns
        let head = "INSERT INTO \(IndexSchema.nodeTable) (\(IndexSchema.key), \(nodeColumns.map(\.name).joined(separator: ", "))) VALUES "
        let row = "(\(key), \(Array(repeating: "?", count: nodeColumns.count).joined(separator: ", ")))"
        var start = 0
        while start < index.nodes.count {
            let chunk = index.nodes[start..<min(start + Self.nodesPerStatement, index.nodes.count)]
            var binds: [SQLValue] = []
            binds.reserveCapacity(chunk.count * nodeColumns.count)
            for node in chunk {
                let nodeRow = IndexSchema.NodeRow(node: node, compositionArchetype: index.archetypeID)
                for column in nodeColumns { binds.append(column.value(nodeRow)) }
            }
            statements.append(SQLStatement(head + Array(repeating: row, count: chunk.count).joined(separator: ", "), binds))
            start += Self.nodesPerStatement
        }
        return statements
    }
}

/// What the AQL index keeps of one composition version: the composition's
/// row and its nodes (AQL `NodeProjection`).
struct CompositionIndex: Sendable {
    var archetypeID: String
    var templateID: String?
    var composer: String?
    /// `context/start_time`, microseconds since the epoch.
    var startTime: Int64?
    var nodes: [IndexedNode]

    /// The index of a decoded composition.
    init(composition: JSON, templateID: String?) {
        archetypeID = composition["archetype_node_id"]?.stringValue ?? ""
        self.templateID = templateID ?? composition["archetype_details"]?["template_id"]?["value"]?.stringValue
        composer = composition["composer"]?["name"]?.stringValue
        startTime = composition["context"]?["start_time"]?["value"]?.stringValue.flatMap(ISODateTime.init)?.microsecondsSinceEpoch
        nodes = NodeProjection.rows(of: composition)
    }
}
