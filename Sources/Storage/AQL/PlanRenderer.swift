import AQL

/// A query plan written as one SQL statement for an engine: the text, with
/// `?` placeholders, and the values bound to them.
public struct RenderedQuery: Sendable, Equatable {
    public var sql: String
    public var binds: [SQLValue]
    /// The projections whose tables it reads, which must be current.
    var projections: Set<String> = []

    /// The plan in the SQL of an engine (`AQLStore.render` for the store's own).
    public init(rendering plan: QueryPlan, for kind: DatabaseKind) throws {
        self = try PlanRenderer.render(plan, for: kind)
    }

    init(sql: String, binds: [SQLValue]) {
        self.sql = sql
        self.binds = binds
    }
}

/// Renders a `QueryPlan` (module AQL) into SQL for SQLite or PostgreSQL.
/// Every value of the query is bound; only the index layout's constants
/// (an archetype root's empty path, the composition root's number) are
/// written into the text, where the engines' planners need to see them to
/// use the partial indexes.
struct PlanRenderer {
    let kind: DatabaseKind
    /// The table of each alias of the plan, sub-queries included.
    let tables: [PlanAlias: PlanTable]
    var binds: [SQLValue] = []
    /// The node alias and dictionary whose conditions are being written
    /// inside the node's `shape IN (SELECT …)` (`dictionaryConditions`).
    var dictionaryScope: (alias: PlanAlias, dictionary: IndexSchema.NodeDictionary)?

    init(kind: DatabaseKind, plan: QueryPlan) {
        self.kind = kind
        var tables: [PlanAlias: PlanTable] = [:]
        func collect(_ sources: [PlanSource]) {
            for source in sources {
                tables[source.alias] = source.table
                source.on.forEach(collect)
            }
        }
        func collect(_ condition: PlanCondition) {
            switch condition {
            case .exists(let sub), .notExists(let sub):
                collect(sub.sources)
                sub.conditions.forEach(collect)
            case .and(let items), .or(let items): items.forEach(collect)
            case .not(let inner): collect(inner)
            default: break
            }
        }
        collect(plan.sources)
        plan.conditions.forEach(collect)
        self.tables = tables
    }

    static func render(_ plan: QueryPlan, for kind: DatabaseKind) throws -> RenderedQuery {
        var renderer = PlanRenderer(kind: kind, plan: plan)
        let sql = try renderer.statement(plan)
        var rendered = RenderedQuery(sql: sql, binds: renderer.binds)
        let read = Set(renderer.tables.values)
        if !read.isDisjoint(with: [.composition, .node]) { rendered.projections.insert(AQLIndexProjection.name) }
        if !read.isDisjoint(with: [.folder, .folderItem]) { rendered.projections.insert(AQLFolderProjection.name) }
        return rendered
    }

    // MARK: The statement

    mutating func statement(_ plan: QueryPlan) throws -> String {
        var columns: [String] = []
        var positions: [Int] = []
        for selection in plan.selections {
            positions.append(columns.count + 1)
            columns += try selected(selection)
        }
        if columns.isEmpty { columns = ["1"] }
        var sql = "SELECT " + (plan.distinct ? "DISTINCT " : "") + columns.joined(separator: ", ")
        sql += " FROM " + (try from(plan.sources, fixedOrder: plan.fixedOrder))
        if !plan.conditions.isEmpty { sql += " WHERE " + (try conjunction(plan.conditions)) }
        let keys = plan.groupingSelections
        if !keys.isEmpty { sql += " GROUP BY " + keys.map { String(positions[$0]) }.joined(separator: ", ") }
        if !plan.orderBy.isEmpty {
            sql += " ORDER BY " + (try plan.orderBy.map { order in
                let key: String
                var required = false
                switch order.key {
                case .expression(let expression):
                    key = try self.expression(expression)
                    required = plan.conditions.contains(.isNotNull(expression))
                case .selection(let index): key = String(positions[index])
                }
                return key + direction(order.descending, required: required)
            }.joined(separator: ", "))
        }
        if !plan.distinctAfterRead {
            if let limit = plan.limit {
                sql += " LIMIT " + bind(.integer(Int64(limit)))
            } else if plan.offset > 0, kind == .sqlite {
                sql += " LIMIT -1"
            }
            if plan.offset > 0 { sql += " OFFSET " + bind(.integer(Int64(plan.offset))) }
        }
        return sql
    }

    /// Absent values sort as the smallest on both engines: SQLite's own
    /// order (so that an index can serve it), made explicit for PostgreSQL.
    /// A key the WHERE clause requires present (`required`) has no absent
    /// value to place, and PostgreSQL reads an index in either direction
    /// only without the NULLS clause (its B-tree order backwards is DESC
    /// NULLS FIRST): a page of the highest values is then read backwards
    /// from the value index (BENCHMARKS.md: 46 ms to 0.5 ms at 20,000 compositions).
    func direction(_ descending: Bool, required: Bool) -> String {
        switch kind {
        case .sqlite: descending ? " DESC" : " ASC"
        case .postgresql where required: descending ? " DESC" : " ASC"
        case .postgresql: descending ? " DESC NULLS LAST" : " ASC NULLS FIRST"
        }
    }

    /// The SQL columns of one selection (`AQLStore.decode` reads them in this order).
    mutating func selected(_ selection: PlanSelection) throws -> [String] {
        switch selection {
        case .scalar(let expression):
            return [try self.expression(expression)]
        case .node(let composition, let version, let num, let node):
            let head = [try column(composition, .objectID), try expression(version), try expression(num)]
            guard let node else { return head + Array(repeating: "NULL", count: IndexSchema.leafColumns.count) }
            return head + (try IndexSchema.leafColumns.map { try column(node, $0) })
        case .version(let alias):
            return try AQLStore.versionColumns.map { try column(alias, $0) }
        case .extreme(let extreme):
            return [try self.extreme(extreme)]
        }
    }

    /// The reference (`object id|version|number`) of the node with the
    /// extreme ordering value: SQLite's `socle_extreme` aggregate
    /// (`SQLiteExtreme`), PostgreSQL's ordered `array_agg`.
    mutating func extreme(_ extreme: PlanExtreme) throws -> String {
        let objectID = try expression(extreme.objectID)
        let first = bind(.text(AQLStore.referenceSeparator))
        let version = try expression(extreme.versionNumber)
        let second = bind(.text(AQLStore.referenceSeparator))
        let reference = "(\(objectID) || \(first) || \(version) || \(second) || \(try expression(extreme.num)))"
        let keys = try extreme.keys.map { try expression($0) }
        if kind == .sqlite {
            let text = keys.count > 1 ? keys[1] : "NULL"
            return "socle_extreme(\(extreme.maximum ? 1 : 0), \(keys.first ?? "NULL"), \(text), \(reference))"
        }
        let direction = extreme.maximum ? "DESC" : "ASC"
        let order = keys.map { "\($0) \(direction) NULLS LAST" }.joined(separator: ", ")
        return "(array_agg(\(reference) ORDER BY \(order)) FILTER (WHERE \(try expression(extreme.num)) IS NOT NULL))[1]"
    }

    /// `fixedOrder`: on SQLite, inner joins as CROSS JOIN, which its planner
    /// never reorders (PostgreSQL reorders joins as it sees fit).
    mutating func from(_ sources: [PlanSource], fixedOrder: Bool = false) throws -> String {
        let inner = fixedOrder && kind == .sqlite ? "CROSS JOIN" : "JOIN"
        var parts: [String] = []
        for source in sources {
            let table = "\(IndexSchema.tableNames[source.table] ?? source.table.rawValue) \(source.alias)"
            if parts.isEmpty {
                parts.append(table)
            } else {
                let on = source.on.isEmpty ? "1 = 1" : try conjunction(source.on)
                parts.append("\(source.join == .left ? "LEFT JOIN" : inner) \(table) ON \(on)")
            }
            if source.table == .document, kind == .postgresql {
                // The document parsed once per row, whatever number of values
                // are read from it (OFFSET 0 keeps PostgreSQL from inlining the
                // conversion into each). Measured: one value over 22,000
                // compositions 1.98 s inline, 0.92 s so; two values 3.78 s and 0.91 s.
                let document = try column(source.alias, .document)
                parts.append("LEFT JOIN LATERAL (SELECT convert_from(\(document), 'UTF8')::jsonb AS json OFFSET 0) \(Self.parsed(source.alias)) ON TRUE")
            }
        }
        return parts.joined(separator: " ")
    }

    /// The alias of a document's JSON parsed once (PostgreSQL).
    static func parsed(_ document: PlanAlias) -> String { "\(document)j" }

    // MARK: Conditions

    /// Conditions joined by AND. The conditions on what a node row keeps
    /// in a dictionary (`IndexSchema.NodeDictionary`: its archetype, path and
    /// node id in its shape, its class and JSON place in its place) are
    /// written together as one `shape IN (SELECT id FROM aql_shape WHERE …)`
    /// at the place of the first, which both engines turn into seeks on the
    /// node table's keys.
    mutating func conjunction(_ conditions: [PlanCondition]) throws -> String {
        var groups: [(subject: DictionarySubject?, conditions: [PlanCondition])] = []
        for condition in conditions {
            let subject = dictionarySubject(condition)
            if let subject, let index = groups.firstIndex(where: { $0.subject == subject }) {
                groups[index].conditions.append(condition)
            } else {
                groups.append((subject, [condition]))
            }
        }
        var parts: [String] = []
        for group in groups {
            if let subject = group.subject {
                parts.append(try dictionaryConditions(subject, group.conditions))
            } else {
                parts.append(try condition(group.conditions[0]))
            }
        }
        return parts.joined(separator: " AND ")
    }

    /// A node alias and one of its dictionaries.
    struct DictionarySubject: Equatable {
        var alias: PlanAlias
        var dictionary: IndexSchema.NodeDictionary
    }

    /// The node and dictionary a condition constrains alone: its subject is
    /// a dictionary column of a node, and no operand reads that node's own
    /// row. Tests of absence (IS NULL) are not among them: a node a LEFT
    /// JOIN did not match has no entry to be in.
    func dictionarySubject(_ condition: PlanCondition) -> DictionarySubject? {
        let subject: PlanExpression
        var others: [PlanExpression] = []
        switch condition {
        case .compare(let a, _, let b): (subject, others) = (a, [b])
        case .anyOf(let a, let values): (subject, others) = (a, values)
        case .like(let a, _), .pathMatches(let a, _): subject = a
        case .pathBelow(let a, let base, _): (subject, others) = (a, [base])
        default: return nil
        }
        guard case .column(let alias, let column) = subject, tables[alias] == .node, let dictionary = IndexSchema.dictionary(of: column) else { return nil }
        for other in others {
            switch other {
            case .value, .constant: continue
            case .column(let owner, let column) where owner != alias || IndexSchema.dictionary(of: column) != nil: continue
            default: return nil
            }
        }
        return DictionarySubject(alias: alias, dictionary: dictionary)
    }

    /// `alias.shape IN (SELECT id FROM aql_shape WHERE conditions)`; for an
    /// archetype root's path (`''`) also `num = root_num`, which is what
    /// the partial value index names its roots by.
    mutating func dictionaryConditions(_ subject: DictionarySubject, _ conditions: [PlanCondition]) throws -> String {
        let (alias, dictionary) = (subject.alias, subject.dictionary)
        func equality(_ column: PlanColumn) -> PlanExpression? {
            for condition in conditions { if case .compare(.column(alias, column), .equal, let value) = condition { return value } }
            return nil
        }
        let root = equality(.apath).map { $0 == .constant(.text("")) || $0 == .value(.text("")) } ?? false
        let rootCondition = root ? " AND \(alias).\(try IndexSchema.name(.num, in: .node)) = \(alias).\(try IndexSchema.name(.rootNum, in: .node))" : ""
        // An archetype and a path name one shape, whose id is theirs
        // (`IndexSchema.Shape.id`): bound as it is, the engines plan with
        // the statistics of that shape and no sub-plan to resolve it.
        if dictionary == IndexSchema.shapes, conditions.count == 2,
            case .text(let archetypeID)? = equality(.archetypeID).flatMap(Self.known), case .text(let apath)? = equality(.apath).flatMap(Self.known)
        {
            return "\(alias).\(dictionary.key) = \(bind(.integer(IndexSchema.Shape.id(archetypeID: archetypeID, apath: apath))))" + rootCondition
        }
        let outer = dictionaryScope
        dictionaryScope = (subject.alias, subject.dictionary)
        defer { dictionaryScope = outer }
        let inner = "\(alias)\(dictionary.inner)"
        let rendered = try conditions.map { try condition($0) }.joined(separator: " AND ")
        // Otherwise an archetype and a path still name one shape: an
        // equality, which lets the engines read the value index in order
        // (ORDER BY … LIMIT) where IN would sort every match.
        let one = dictionary == IndexSchema.shapes && equality(.archetypeID) != nil && equality(.apath) != nil
        let sql = "\(alias).\(dictionary.key) \(one ? "=" : "IN") (SELECT \(inner).id FROM \(dictionary.table) \(inner) WHERE \(rendered))"
        return sql + rootCondition
    }

    mutating func condition(_ condition: PlanCondition) throws -> String {
        switch condition {
        case .always(let value): return value ? "1 = 1" : "1 = 0"
        case .compare(let a, let op, let b): return "\(try expression(a)) \(op == .notEqual ? "<>" : op.rawValue) \(try expression(b))"
        case .isNull(let a): return "\(try expression(a)) IS NULL"
        case .isNotNull(let a): return "\(try expression(a)) IS NOT NULL"
        case .anyOf(let a, let values):
            let left = try expression(a)
            return "\(left) IN (\(try values.map { try expression($0) }.joined(separator: ", ")))"
        case .like(let a, let pattern):
            let left = try expression(a)
            return kind == .sqlite ? "\(left) GLOB \(bind(.text(Self.glob(aql: pattern))))" : "\(left) LIKE \(bind(.text(Self.like(aql: pattern))))"
        case .pathMatches(let a, let pattern):
            let left = try expression(a)
            return kind == .sqlite ? "\(left) GLOB \(bind(.text(Self.glob(path: pattern))))" : "\(left) LIKE \(bind(.text(Self.like(path: pattern))))"
        case .pathBelow(let a, let base, let relative):
            let left = try expression(a)
            return "\(left) LIKE \(try expression(base)) || \(bind(.text(relative)))"
        case .and(let items): return "(" + (try conjunction(items)) + ")"
        case .or(let items): return "(" + (try items.map { try self.condition($0) }.joined(separator: " OR ")) + ")"
        case .not(let inner): return "NOT (\(try self.condition(inner)))"
        case .exists(let sub): return "EXISTS (\(try subquery(sub)))"
        case .notExists(let sub): return "NOT EXISTS (\(try subquery(sub)))"
        case .matched(let alias, let table): return "\(try column(alias, IndexSchema.keyColumn(table))) IS NOT NULL"
        // The few EHRs that are not queryable, read once through their partial
        // index (migration 9) rather than an EHR row per composition.
        case .queryable(let ehrID): return "\(try expression(ehrID)) NOT IN (SELECT u.ehr_id FROM ehr u WHERE u.is_queryable = 0)"
        }
    }

    mutating func subquery(_ sub: PlanSubquery) throws -> String {
        "SELECT 1 FROM " + (try from(sub.sources)) + (sub.conditions.isEmpty ? "" : " WHERE " + (try conjunction(sub.conditions)))
    }

    /// AQL LIKE as a SQLite GLOB (case-sensitive, as AQL's LIKE is): GLOB's
    /// own `*`, `?` and `[` are quoted in brackets.
    static func glob(aql pattern: String) -> String {
        translate(aql: pattern, anyRun: "*", one: "?") { ["*", "?", "["].contains($0) ? "[\($0)]" : nil }
    }

    /// AQL LIKE as a PostgreSQL LIKE, whose `%`, `_` and `\` are escaped with a backslash.
    static func like(aql pattern: String) -> String {
        translate(aql: pattern, anyRun: "%", one: "_") { ["%", "_", "\\"].contains($0) ? "\\\($0)" : nil }
    }

    /// AQL's wildcards (AQL 1.1 §4.8.3: `*` any run of characters, `?` one;
    /// a backslash makes the next character itself, so `\*` is a star and
    /// `\\` a backslash) in an engine's words. Every other character matches
    /// itself: `%` and `_` too, and the engine's own special characters,
    /// which `escape` quotes.
    static func translate(aql pattern: String, anyRun: String, one: String, escape: (Character) -> String?) -> String {
        var rendered = ""
        var escaped = false
        for character in pattern {
            if escaped {
                rendered += escape(character) ?? String(character)
                escaped = false
                continue
            }
            switch character {
            case "\\": escaped = true
            case "*": rendered += anyRun
            case "?": rendered += one
            default: rendered += escape(character) ?? String(character)
            }
        }
        // A backslash at the end stands for itself.
        if escaped { rendered += escape("\\") ?? "\\" }
        return rendered
    }

    /// An index path where only `[%]` is a wildcard (any node id), as a GLOB.
    static func glob(path: String) -> String {
        pathPattern(path, wildcard: "[[]*]") { character in
            character == "*" || character == "?" || character == "[" ? "[\(character)]" : String(character)
        }
    }

    /// The same as a PostgreSQL LIKE.
    static func like(path: String) -> String {
        pathPattern(path, wildcard: "[%]") { character in
            character == "%" || character == "_" || character == "\\" ? "\\\(character)" : String(character)
        }
    }

    static func pathPattern(_ path: String, wildcard: String, escape: (Character) -> String) -> String {
        var pattern = ""
        var index = path.startIndex
        while index < path.endIndex {
            if path[index...].hasPrefix("[%]") {
                pattern += wildcard
                index = path.index(index, offsetBy: 3)
                continue
            }
            pattern += escape(path[index])
            index = path.index(after: index)
        }
        return pattern
    }

    // MARK: Expressions

    mutating func bind(_ value: SQLValue) -> String {
        binds.append(value)
        return "?"
    }

    /// A column of an alias. A node's dictionary column is its entry's:
    /// inside the node's `key IN (…)` that entry's column, elsewhere read by
    /// the node's key (one primary-key lookup).
    func column(_ alias: PlanAlias, _ column: PlanColumn) throws -> String {
        guard let table = tables[alias] else { throw PlanRenderingError("alias \(alias) is not in the plan's FROM") }
        let name = try IndexSchema.name(column, in: table)
        guard table == .node, let dictionary = IndexSchema.dictionary(of: column) else { return "\(alias).\(name)" }
        if let scope = dictionaryScope, scope.alias == alias, scope.dictionary == dictionary { return "\(alias)\(dictionary.inner).\(name)" }
        let entry = "\(alias)\(dictionary.lookup)"
        return "(SELECT \(entry).\(name) FROM \(dictionary.table) \(entry) WHERE \(entry).id = \(alias).\(dictionary.key))"
    }

    /// The value of an operand the query gives (bound or constant).
    static func known(_ expression: PlanExpression) -> AQLValue? {
        switch expression {
        case .value(let value), .constant(let value): value
        default: nil
        }
    }

    static func sqlValue(_ value: AQLValue) -> SQLValue {
        switch value {
        case .null: .null
        case .integer(let number): .integer(number)
        case .real(let number): number.isFinite ? .real(number) : .null
        case .text(let text): .text(text)
        }
    }

    static func literal(_ value: AQLValue) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let number): String(number)
        case .real(let number): number.isFinite ? "\(number)" : "NULL"
        case .text(let text): "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        }
    }

    mutating func expression(_ expression: PlanExpression) throws -> String {
        switch expression {
        case .column(let alias, let name): return try column(alias, name)
        case .value(let value): return bind(Self.sqlValue(value))
        case .constant(let value): return Self.literal(value)
        case .concat(let parts): return "(" + (try parts.map { try self.expression($0) }.joined(separator: " || ")) + ")"
        case .function(let function, let arguments):
            var rendered: [String] = []
            for argument in arguments { rendered.append(try self.expression(argument)) }
            return self.function(function, rendered)
        case .aggregate(let function, let distinct, let argument):
            guard let argument else { return "\(function.rawValue)(*)" }
            return "\(function.rawValue)(\(distinct ? "DISTINCT " : "")\(try self.expression(argument)))"
        case .inOneUnit(let units, let inner):
            return "(CASE WHEN COUNT(DISTINCT \(try self.expression(units))) <= 1 THEN \(try self.expression(inner)) END)"
        case .notDriving(let inner):
            return (kind == .sqlite ? "+" : "") + (try self.expression(inner))
        case .tag(let tag):
            return try self.tag(tag)
        case .stored(let stored):
            return try self.stored(stored)
        }
    }

    /// A value of a version's canonical JSON (`object_version.data`, UTF-8
    /// bytes), by a JSON path both engines read: SQLite's `json_extract`
    /// gives strings, numbers and booleans (as 1 and 0) typed already;
    /// PostgreSQL's `jsonb_path_query_first` on the document parsed once
    /// (`from`) gives JSON, read as text and cast.
    mutating func stored(_ stored: PlanStoredValue) throws -> String {
        guard tables[stored.document] == .document else { throw PlanRenderingError("\(stored.document) is not a document the plan joins") }
        let path = try expression(stored.jsonPath)
        // SQLite keeps the last documents it parsed within a statement: a second value read from one costs no second parse (measured).
        // `socle_document`: the document inflated when stored compressed (`StoredDocument`).
        guard kind == .postgresql else { return "json_extract(socle_document(\(try column(stored.document, .document))), \(path))" }
        let text = "(jsonb_path_query_first(\(Self.parsed(stored.document)).json, CAST(\(path) AS jsonpath)) #>> '{}')"
        switch stored.type {
        case .text: return text
        case .number: return "CAST(\(text) AS DOUBLE PRECISION)"
        case .boolean: return "(CASE \(text) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
        }
    }

    /// A tag looked up in `item_tag` (`TagStore`) by its primary key: the
    /// object, the versioned object (0) or the version, the key, the path.
    mutating func tag(_ tag: PlanTag) throws -> String {
        let objectID = try expression(tag.objectID)
        let version = try expression(tag.versionNumber)
        let key = try expression(tag.key)
        let path = try expression(tag.targetPath)
        let match = "FROM item_tag g WHERE g.object_id = \(objectID) AND g.version_number IN (0, \(version)) AND g.tag_key = \(key) AND g.target_path = \(path)"
        if tag.presence { return kind == .sqlite ? "(EXISTS (SELECT 1 \(match)))" : "CAST(EXISTS (SELECT 1 \(match)) AS INTEGER)" }
        return "(SELECT COALESCE(g.tag_value, '') \(match) ORDER BY g.version_number DESC LIMIT 1)"
    }

    /// AQL 1.1 §4.9 functions in each engine's words.
    func function(_ function: PlanFunction, _ a: [String]) -> String {
        let sqlite = kind == .sqlite
        switch function {
        case .length: return "\(sqlite ? "length" : "char_length")(\(a[0]))"
        // Booleans are 0 and 1 on both engines, as the planner compares them.
        case .contains: return sqlite ? "(instr(\(a[0]), \(a[1])) > 0)" : "CAST(strpos(\(a[0]), \(a[1])) > 0 AS INTEGER)"
        // POSITION(needle, haystack).
        case .position: return sqlite ? "instr(\(a[1]), \(a[0]))" : "strpos(\(a[1]), \(a[0]))"
        case .substring: return "substr(\(a.joined(separator: ", ")))"
        case .abs, .ceil, .floor: return "\(function.rawValue)(\(a[0]))"
        case .mod:
            return sqlite ? "mod(\(a[0]), \(a[1]))" : "CAST(mod(CAST(\(a[0]) AS NUMERIC), CAST(\(a[1]) AS NUMERIC)) AS DOUBLE PRECISION)"
        case .round:
            return sqlite ? "round(\(a[0]), \(a[1]))" : "CAST(round(CAST(\(a[0]) AS NUMERIC), CAST(\(a[1]) AS INTEGER)) AS DOUBLE PRECISION)"
        case .orEmpty: return "COALESCE(\(a[0]), '')"
        case .integer: return "CAST(\(a[0]) AS INTEGER)"
        case .precedingVersion: return "(CASE WHEN \(a[2]) > 1 THEN \(a[0]) || \(a[1]) || (\(a[2]) - 1) END)"
        }
    }
}
