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
    /// and ISM_TRANSITION (issue 19 §1, §2). 3: what nodes of the same
    /// structure share kept once, in `aql_shape` (archetype, path, node id)
    /// and `aql_place` (JSON place, class), node rows naming them by 64-bit
    /// ids, clustered by `(cid, shape, num)` (issue 19 §8).
    public var version: Int { 3 }
    public var rmTypes: Set<String>? { ["COMPOSITION"] }
    public var tables: [String] { [IndexSchema.compositionTable, IndexSchema.nodeTable, IndexSchema.shapes.table, IndexSchema.places.table] }

    public init() {}

    public func createStatements(_ kind: DatabaseKind) -> [String] {
        let key = kind == .postgresql ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY"
        let composition = IndexSchema.definitions(IndexSchema.compositionColumns, kind)
        let node = IndexSchema.definitions(IndexSchema.nodeColumns, kind)
        func name(_ column: PlanColumn) -> String { IndexSchema.sqlName(column, .node) }
        func own(_ column: PlanColumn) -> String { IndexSchema.sqlName(column, .composition) }
        let (shape, place) = (IndexSchema.shapes, IndexSchema.places)
        let (num, rootNum, value, code) = (name(.num), name(.rootNum), name(.numValue), name(.code))
        let table = IndexSchema.compositionTable
        let nodes = IndexSchema.nodeTable
        // A dictionary's id is the rowid on SQLite.
        let id = kind == .postgresql ? "id BIGINT PRIMARY KEY" : "id INTEGER PRIMARY KEY"
        return [
            "CREATE TABLE \(table) (\(IndexSchema.key) \(key), \(composition))",
            "CREATE INDEX \(table)_ehr_idx ON \(table) (\(own(.ehrID)))",
            // context/start_time: the time population queries most often filter on.
            "CREATE INDEX \(table)_start_idx ON \(table) (\(own(.startTime)))",
            "CREATE INDEX \(table)_archetype_idx ON \(table) (\(own(.archetypeID)))",
            "CREATE TABLE \(shape.table) (\(id), \(IndexSchema.definitions(IndexSchema.shapeColumns, kind)))",
            "CREATE INDEX \(shape.table)_path_idx ON \(shape.table) (\(name(.archetypeID)), \(name(.apath)))",
            "CREATE TABLE \(place.table) (\(id), \(IndexSchema.definitions(IndexSchema.placeColumns, kind)))",
            // Clustered by (cid, shape, num): a path of a known composition is
            // one seek, its occurrences in document order.
            "CREATE TABLE \(nodes) (\(IndexSchema.key) BIGINT NOT NULL, \(shape.key) BIGINT NOT NULL, \(place.key) BIGINT NOT NULL, \(node), "
                + "PRIMARY KEY (\(IndexSchema.key), \(shape.key), \(num)))" + (kind == .postgresql ? "" : " WITHOUT ROWID"),
            // Partial: only rows a query can start from (a number or a date-time,
            // an archetype root, whose `num` is its `root_num`; a code). Container
            // rows are reached from their composition by the clustered key, and
            // leaving them out halves the pages a commit dirties (IPS-sized
            // commits 2.2× faster, measured). The renderer writes `num = root_num`
            // beside a root's path, so that both engines see the index applies.
            "CREATE INDEX \(nodes)_value_idx ON \(nodes) (\(shape.key), \(value)) WHERE \(value) IS NOT NULL OR \(num) = \(rootNum)",
            "CREATE INDEX \(nodes)_code_idx ON \(nodes) (\(shape.key), \(code)) WHERE \(code) IS NOT NULL",
        ] + IndexSchema.generationStatements
    }

    /// The generation of the dictionaries, for tables made before it existed.
    public func currentStatements(_ kind: DatabaseKind) -> [String] { IndexSchema.generationStatements }

    public func dropStatements(_ kind: DatabaseKind) -> [String] {
        [IndexSchema.nodeTable, IndexSchema.shapes.table, IndexSchema.places.table, IndexSchema.compositionTable, IndexSchema.generationTable].map {
            "DROP TABLE IF EXISTS \($0)"
        }
    }

    /// Compositions live in EHRs.
    public var records: ProjectedRecords { .ofEHRs }

    /// One composition row per live composition.
    public func objectCountStatement(_ kind: DatabaseKind) -> String? { "SELECT COUNT(*) FROM \(IndexSchema.compositionTable)" }

    public func statements(for version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement] {
        var statements = version.isCreation ? [] : removal(objectID: version.record.objectID)
        guard !version.isDeleted, let document = version.document else { return statements }
        statements += insertion(CompositionIndex(composition: document, templateID: version.templateID), version.record, kind, known: version.dictionaries)
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

    /// Rows per node insert: 11 columns each, well under both engines' bind limits.
    static let nodesPerStatement = 500

    /// The shapes and places of the composition's nodes (each stored once:
    /// those already there are left as they are, those `known` holds left
    /// out after a check of the tables' generation), the composition row,
    /// then its nodes, which take the composition's key from the insert just
    /// made (SQLite: `last_insert_rowid()`, per connection, so inside the
    /// commit's transaction; the dictionaries set no key). On PostgreSQL it is
    /// all one statement: one round trip.
    func insertion(_ index: CompositionIndex, _ record: VersionRecord, _ kind: DatabaseKind, known: NodeDictionaryCache.Use? = nil) -> [SQLStatement] {
        // Each shape and place by its id, with the first node that has it.
        var shapes: [Int64: Int] = [:]
        var places: [Int64: Int] = [:]
        var ids: [(shape: Int64, place: Int64)] = []
        ids.reserveCapacity(index.nodes.count)
        for (position, node) in index.nodes.enumerated() {
            let (shape, place) = (IndexSchema.Shape.id(of: node, compositionArchetype: index.archetypeID), IndexSchema.Place.id(of: node))
            if shapes[shape] == nil { shapes[shape] = position }
            if places[place] == nil { places[place] = position }
            ids.append((shape, place))
        }
        let (generation, entries) = Self.entries(shapes, places, of: index, known: known)
        let compositionRow = IndexSchema.CompositionRow(record: record, index: index)
        let composition = IndexSchema.insert(into: IndexSchema.compositionTable, IndexSchema.compositionColumns, compositionRow)
        guard kind == .sqlite else {
            let written = Self.compositionWithNodes(composition, Self.nodeRecords(index, ids), checking: generation)
            guard entries.count <= 2 else { return entries + [written] }
            // New rows only, one statement: it joins the commit's other statements.
            var statement = SQLStatement.folding(entries, into: written)
            statement.independent = true
            return [statement]
        }
        return (generation.map { [IndexSchema.generationGuard($0)] } ?? []) + entries + [composition] + Self.nodeValues(index, ids)
    }

    /// PostgreSQL: the composition row and its nodes in one statement, the
    /// nodes keyed by the row's `RETURNING`; when entries were left out, the
    /// row comes back only while the dictionaries are still `generation`,
    /// else the commit fails with `IndexSchema.dictionariesChanged` (a rebuild
    /// drops the tables, which waits for the transaction's locks).
    static func compositionWithNodes(_ composition: SQLStatement, _ nodes: SQLStatement, checking generation: Int64?) -> SQLStatement {
        let queries = [
            SQLStatement.WithQuery("inserted", composition.sql + " RETURNING \(IndexSchema.key)", composition.binds),
            SQLStatement.WithQuery("nodes", nodes.sql, nodes.binds),
        ]
        guard let generation else { return .with(queries, then: SQLStatement("SELECT 1 FROM inserted")) }
        let current = SQLStatement(
            "SELECT 1 FROM inserted WHERE EXISTS (SELECT 1 FROM \(IndexSchema.generationTable) WHERE id = 1 AND value = ?)", [.integer(generation)],
            mustReturnRow: IndexSchema.dictionariesChanged)
        return .with(queries, then: current)
    }

    /// SQLite: the nodes in multi-row inserts, at most `nodesPerStatement` rows each,
    /// the key the composition row's just inserted (`last_insert_rowid()`).
    static func nodeValues(_ index: CompositionIndex, _ ids: [(shape: Int64, place: Int64)]) -> [SQLStatement] {
        let nodeColumns = IndexSchema.nodeColumns
        let names = [IndexSchema.key, IndexSchema.shapes.key, IndexSchema.places.key] + nodeColumns.map(\.name)
        let head = "INSERT INTO \(IndexSchema.nodeTable) (\(names.joined(separator: ", "))) VALUES "
        let row = "(last_insert_rowid(), \(Array(repeating: "?", count: nodeColumns.count + 2).joined(separator: ", ")))"
        return chunks(of: Array(index.nodes.indices)) { chunk in
            var binds: [SQLValue] = []
            binds.reserveCapacity(chunk.count * (nodeColumns.count + 2))
            for position in chunk {
                let node = index.nodes[position]
                binds.append(.integer(ids[position].shape))
                binds.append(.integer(ids[position].place))
                for column in nodeColumns { binds.append(column.value(node)) }
            }
            return SQLStatement(head + Array(repeating: row, count: chunk.count).joined(separator: ", "), binds)
        }
    }

    /// PostgreSQL: every node of the composition in one insert, each column
    /// one array of its values (`SQLValue.array`, sent in binary, turned into
    /// rows by `unnest`, PostgreSQL §9.19): the same text for every
    /// composition, whatever its node count, which the connection keeps
    /// prepared (`PostgreSQLNamedStatements`), and nothing for the server to
    /// parse (a JSON array of records, `json_to_recordset`, was a tenth of
    /// the machine on IPS commits). The key is the composition row's, from
    /// the WITH query `inserted` (`compositionWithNodes`).
    static func nodeRecords(_ index: CompositionIndex, _ ids: [(shape: Int64, place: Int64)]) -> SQLStatement {
        let columns = IndexSchema.nodeColumns
        // Node by node, each read once (a node is copied on each read: by column, 9 times).
        var values = Array(repeating: [SQLValue](), count: columns.count)
        for offset in values.indices { values[offset].reserveCapacity(index.nodes.count) }
        for node in index.nodes {
            for (offset, column) in columns.enumerated() { values[offset].append(column.value(node)) }
        }
        let arrays = [SQLArray(.integer, ids.map { .integer($0.shape) }), SQLArray(.integer, ids.map { .integer($0.place) })]
            + zip(columns, values).map { SQLArray($0.arrayElement, $1) }
        let casts = arrays.map { PostgreSQLArray.placeholder($0.element) }
        let names = [IndexSchema.key, IndexSchema.shapes.key, IndexSchema.places.key] + columns.map(\.name)
        let fields = [IndexSchema.shapes.key, IndexSchema.places.key] + columns.map(\.name)
        return SQLStatement(
            "INSERT INTO \(IndexSchema.nodeTable) (\(names.joined(separator: ", "))) SELECT inserted.\(IndexSchema.key), r.* FROM inserted, "
                + "unnest(\(casts.joined(separator: ", "))) AS r(\(fields.joined(separator: ", ")))",
            arrays.map(SQLValue.array))
    }

    /// The dictionaries' entries the composition's nodes name (each id
    /// with the position of a node that has it), but those `known` holds
    /// (`NodeDictionaryCache`): then also the generation the tables must
    /// still be, having been learnt in it.
    static func entries(
        _ shapes: [Int64: Int], _ places: [Int64: Int], of index: CompositionIndex, known: NodeDictionaryCache.Use?
    ) -> (generation: Int64?, inserts: [SQLStatement]) {
        func inserts(_ shapes: [Int64: Int], _ places: [Int64: Int]) -> [SQLStatement] {
            entries(shapes.mapValues { IndexSchema.Shape(index.nodes[$0], compositionArchetype: index.archetypeID) }, IndexSchema.shapes, IndexSchema.shapeColumns)
                + entries(places.mapValues { IndexSchema.Place(index.nodes[$0]) }, IndexSchema.places, IndexSchema.placeColumns)
        }
        guard let known else { return (nil, inserts(shapes, places)) }
        known.record(shapes: shapes.keys, places: places.keys)
        let (newShapes, newPlaces) = (shapes.filter { !known.known.shapes.contains($0.key) }, places.filter { !known.known.places.contains($0.key) })
        guard newShapes.count < shapes.count || newPlaces.count < places.count else { return (nil, inserts(newShapes, newPlaces)) }
        return (known.known.generation, inserts(newShapes, newPlaces))
    }

    /// Entries of a dictionary, inserted unless there (in the order of
    /// their ids, so that concurrent commits wait for one another rather
    /// than deadlock on PostgreSQL).
    static func entries<Entry>(_ entries: [Int64: Entry], _ dictionary: IndexSchema.NodeDictionary, _ columns: [IndexSchema.Column<Entry>]) -> [SQLStatement] {
        let names = (["id"] + columns.map(\.name)).joined(separator: ", ")
        let row = "(" + Array(repeating: "?", count: columns.count + 1).joined(separator: ", ") + ")"
        return chunks(of: entries.sorted { $0.key < $1.key }) { chunk in
            var binds: [SQLValue] = []
            for (id, entry) in chunk { binds += [.integer(id)] + columns.map { $0.value(entry) } }
            return SQLStatement(
                "INSERT INTO \(dictionary.table) (\(names)) VALUES \(Array(repeating: row, count: chunk.count).joined(separator: ", ")) ON CONFLICT DO NOTHING",
                binds)
        }
    }


    /// One statement per run of at most `nodesPerStatement` items.
    static func chunks<Item>(of items: [Item], _ statement: (ArraySlice<Item>) -> SQLStatement) -> [SQLStatement] {
        stride(from: 0, to: items.count, by: nodesPerStatement).map { start in
            statement(items[start..<min(start + nodesPerStatement, items.count)])
        }
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
