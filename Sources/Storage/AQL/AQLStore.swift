import AQL

/// Runs AQL query plans on the node index: renders a plan for the engine,
/// runs it with its values bound, and hands back typed values, one per
/// selection of each row. Nothing above Storage sees the SQL or its rows.
public struct AQLStore: Sendable {
    let database: any SQLDatabase
    let projections: Projections

    init(database: any SQLDatabase, projections: Projections) {
        self.database = database
        self.projections = projections
    }

    public var kind: DatabaseKind { database.kind }

    /// The plan as this engine's SQL, with its bound values.
    public func render(_ plan: QueryPlan) throws -> RenderedQuery {
        try PlanRenderer.render(plan, for: database.kind)
    }

    /// Runs the plan; each row holds one value per selection. Refused
    /// (`StoreError.rebuilding`) while the node index is being rebuilt.
    public func run(_ plan: QueryPlan) async throws -> [[ResultValue]] {
        let rendered = try render(plan)
        for projection in rendered.projections.sorted() { try await projections.requireCurrent(projection) }
        let rows = try await StoreMetrics.aqlQuery { try await database.query(rendered.sql, rendered.binds, options: ReadOptions(generated: true)) }
        return rows.map { Self.decode($0, plan.selections) }
    }

    /// The statement alone, as `socle bench aql` measures it beside the
    /// whole query service: the rows are counted, not read.
    public func runStatement(_ rendered: RenderedQuery) async throws -> Int {
        try await database.query(rendered.sql, rendered.binds, options: ReadOptions(generated: true)).count
    }

    /// The plan's statement, the values bound to it, and what the database
    /// makes of it (`explain=true`).
    public func explain(_ plan: QueryPlan) async throws -> QueryExplanation {
        let rendered = try render(plan)
        return QueryExplanation(
            sql: rendered.sql, parameters: rendered.binds.map(Self.aqlValue), databasePlan: try await database.plan(of: rendered))
    }

    /// How many compositions and node rows the index holds.
    public func size() async throws -> (compositions: Int, nodes: Int) {
        let compositions = try await database.query("SELECT COUNT(*) FROM \(IndexSchema.compositionTable)").first?.int(0) ?? 0
        let nodes = try await database.query("SELECT COUNT(*) FROM \(IndexSchema.nodeTable)").first?.int(0) ?? 0
        return (Int(compositions), Int(nodes))
    }

    /// The columns of a selected version, as `versionRecord` reads them.
    static let versionColumns: [PlanColumn] = [
        .objectID, .versionNumber, .contributionID, .systemID, .committer, .timeCommitted, .changeType, .description, .lifecycleState,
    ]

    /// Reads one row's columns back into one value per selection, in the
    /// order `PlanRenderer.selected` wrote them.
    static func decode(_ row: SQLRow, _ selections: [PlanSelection]) -> [ResultValue] {
        var position = 0
        var values: [ResultValue] = []
        values.reserveCapacity(selections.count)
        for selection in selections {
            switch selection {
            case .scalar:
                values.append(.scalar(aqlValue(row.values[position])))
                position += 1
            case .node(_, _, _, let node):
                values.append(.node(nodeReference(row, at: position, hasLeaf: node != nil)))
                position += 3 + IndexSchema.leafColumns.count
            case .version:
                values.append(.version(versionRecord(row, at: position)))
                position += versionColumns.count
            case .extreme:
                values.append(.node(extremeReference(row.string(position))))
                position += 1
            }
        }
        return values
    }

    static func aqlValue(_ value: SQLValue) -> AQLValue {
        switch value {
        case .null, .blob, .array: .null
        case .integer(let number): .integer(number)
        case .real(let number): .real(number)
        case .text(let text): .text(text)
        }
    }

    static func nodeReference(_ row: SQLRow, at start: Int, hasLeaf: Bool) -> NodeReference? {
        guard let objectID = row.string(start), let version = row.int(start + 1), let num = row.int(start + 2) else { return nil }
        var leaf: IndexedLeaf?
        if hasLeaf, let rmType = row.string(start + 3) {
            let base = start + 3
            leaf = IndexedLeaf(
                rmType: rmType, number: row.double(base + 1), string: row.string(base + 2), code: row.string(base + 3),
                terminology: row.string(base + 4), units: row.string(base + 5), name: row.string(base + 6))
        }
        return NodeReference(objectID: objectID, versionNumber: Int(version), num: Int(num), leaf: leaf)
    }

    /// Between the parts of an extreme's reference: in no object id.
    static let referenceSeparator = "|"

    /// `object id|version|number`, as `PlanRenderer.extreme` writes it.
    static func extremeReference(_ text: String?) -> NodeReference? {
        guard let parts = text?.split(separator: Character(referenceSeparator), omittingEmptySubsequences: false), parts.count >= 3,
            let num = Int(parts[parts.count - 1]), let version = Int(parts[parts.count - 2])
        else { return nil }
        return NodeReference(objectID: parts.dropLast(2).joined(separator: referenceSeparator), versionNumber: version, num: num, leaf: nil)
    }

    static func versionRecord(_ row: SQLRow, at start: Int) -> VersionRecord? {
        guard let objectID = row.string(start), let version = row.int(start + 1) else { return nil }
        return VersionRecord(
            objectID: objectID, versionNumber: Int(version), ehrID: nil, contributionID: row.string(start + 2) ?? "",
            audit: AuditRecord(
                systemID: row.string(start + 3) ?? "", committer: row.string(start + 4) ?? "{}", timeCommitted: row.int(start + 5) ?? 0,
                changeType: row.string(start + 6) ?? "", description: row.string(start + 7)),
            lifecycleState: row.string(start + 8) ?? "", data: [])
    }
}

/// A plan's statement as the database runs it, for `explain`.
public struct QueryExplanation: Sendable {
    /// The SQL text, with `?` placeholders.
    public var sql: String
    /// The values bound to them, in order.
    public var parameters: [AQLValue]
    /// The database's own plan of the statement.
    public var databasePlan: [String]
}

extension SQLDatabase {
    /// What the database makes of a statement: SQLite's EXPLAIN QUERY
    /// PLAN, PostgreSQL's EXPLAIN (explanations for administrators).
    func plan(of rendered: RenderedQuery) async throws -> [String] {
        switch kind {
        case .sqlite:
            return try await query("EXPLAIN QUERY PLAN " + rendered.sql, rendered.binds, options: ReadOptions(generated: true)).map { row in
                row.values.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: " ")
            }
        case .postgresql:
            return try await query("EXPLAIN " + rendered.sql, rendered.binds, options: ReadOptions(generated: true)).compactMap { $0.string(0) }
        }
    }
}
