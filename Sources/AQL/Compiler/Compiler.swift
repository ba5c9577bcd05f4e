import JSONCore
import OpenEHR

/// Compiles a checked AQL query into one SQL statement over the node index
/// (parse → check → plan → render; docs/architecture.md §AQL).
///
/// FROM variables become table aliases: a COMPOSITION is a row of
/// `aql_composition`, any other RM class a row of `aql_node` contained in
/// its parent by the pre-order interval, an EHR the composition's `ehr_id`
/// (or the `ehr` table when its own attributes are asked for), a VERSION a
/// row of `object_version`. A path below a variable becomes one more
/// `aql_node` row found by `(archetype_id, apath)` under the variable's
/// archetype root. WHERE conditions that are plain conjuncts join those
/// rows (so the database can start from the value index); conditions under
/// OR and NOT, EXISTS and NOT CONTAINS become `EXISTS` sub-queries.
public struct Compiler: Sendable {
    public let dialect: SQLDialect
    /// The system id in version uids (`uuid::system::n`).
    public let systemID: String

    public init(dialect: SQLDialect, systemID: String) {
        self.dialect = dialect
        self.systemID = systemID
    }

    /// Compiles with the query parameters (`$name`) given; a parameter that
    /// is used but not given is an error.
    ///
    /// `orderedValuesOnly`: ORDER BY paths are inner-joined and must have a
    /// value. With descending keys and a LIMIT, the rows with values come
    /// first anyway (absent values sort as the smallest), so when this
    /// statement fills the page it is the page; it lets the database read
    /// the value index in order instead of sorting every row (`QueryService`).
    public func compile(
        _ checked: Checker.CheckedQuery, parameters: [String: JSON] = [:], now: ISODateTime = .now(), orderedValuesOnly: Bool = false
    ) throws(AQLSemanticError) -> CompiledQuery {
        let build = Build(compiler: self, checked: checked, parameters: parameters, now: now)
        build.orderedValuesOnly = orderedValuesOnly
        let compiled = build.run()
        if !build.problems.isEmpty { throw AQLSemanticError(problems: build.problems) }
        return compiled
    }
}

// MARK: - Bindings

/// A row an index path can start from: a composition's root or a node.
struct Anchor {
    var composition: String
    var cid: String
    var num: String
    /// nil for a composition root (it contains every node of its cid).
    var numCap: String?
    var rootNum: String
    /// The node's path from its archetype root, when the query fixes it.
    var apath: String?
    var apathColumn: String
    /// A quoted literal when the query fixes the archetype, else a column.
    var archetypeID: String
    var types: Set<String>
    /// The `aql_node` alias, nil for a composition root.
    var node: String?
    /// The version whose document is read: the indexed (latest) one, or a
    /// VERSION variable's with ALL_VERSIONS.
    var version: String? = nil
    /// Under VERSION[ALL_VERSIONS], only the latest version is indexed:
    /// paths into the composition cannot be answered from the index.
    var allVersions = false

    var versionNumber: String { version ?? "\(composition).version_number" }
}

final class EHRBinding {
    var ehrID: String?
    var table: String?
    var needsTable: Bool
    var predicate: Predicate?
    var position: SourcePosition

    init(needsTable: Bool, predicate: Predicate?, position: SourcePosition) {
        self.needsTable = needsTable
        self.predicate = predicate
        self.position = position
    }
}

enum Binding {
    case ehr(EHRBinding)
    case composition(Anchor)
    case node(Anchor)
    case version(alias: String, composition: Anchor)
    case versionedObject(alias: String, composition: Anchor)
    /// Declared under NOT CONTAINS: it exists only inside the sub-query.
    case negated
}

extension ContainsExpression {
    /// Where the expression's first class stands.
    var position: SourcePosition {
        switch self {
        case .class(let expression, _, _): expression.position
        case .and(let first, _), .or(let first, _): first.position
        }
    }
}

/// FROM items and conditions of one SELECT (the query, or an EXISTS sub-query).
final class Scope {
    var items: [String] = []
    var conditions: [String] = []
    /// `alias.key IS NOT NULL` for each table added, item by item: whether a LEFT JOIN matched.
    var matched: [String] = []

    /// A column that is never null in a row of each table.
    static let keyColumn = ["aql_node": "cid", "aql_composition": "cid", "object_version": "object_id", "versioned_object": "object_id", "ehr": "ehr_id"]

    func add(_ table: String, _ alias: String, on conditions: [String], left: Bool = false) {
        matched.append("\(alias).\(Self.keyColumn[table] ?? "rowid") IS NOT NULL")
        if items.isEmpty {
            items.append("\(table) \(alias)")
            self.conditions += conditions
        } else if left {
            items.append("LEFT JOIN \(table) \(alias) ON \(conditions.isEmpty ? "1 = 1" : conditions.joined(separator: " AND "))")
        } else {
            items.append("JOIN \(table) \(alias) ON \(conditions.isEmpty ? "1 = 1" : conditions.joined(separator: " AND "))")
        }
    }

    var fromClause: String { items.joined(separator: " ") }
    var whereClause: String { conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ") }
}

/// One more index row on the way down a path.
enum Hop: Hashable {
    /// The node at this path below the anchor, in the anchor's archetype.
    case path(String, pattern: Bool, name: String?)
    /// An archetype root contained in the anchor.
    case root(String)
    /// The composition's own root row.
    case compositionRoot
}

/// What a path is, once bound to its variable.
enum Resolved {
    case scalar(String, ScalarType)
    /// A FROM variable itself (a composition or a node).
    case anchor(Anchor)
    /// An index row reached by `hops` from `base`, then RM attributes `steps` into it.
    case node(base: Anchor, hops: [Hop], steps: [String], types: Set<String>)
    case version(alias: String, steps: [String])
}

/// How a leaf compares: which column, and how literals are read for it.
enum LeafKind {
    case number
    case text
    /// `num_value` holds microseconds; string literals are read as ISO 8601.
    case date
    case boolean
    /// DATA_VALUE `value`: numbers compare with `num_value`, date strings too, other strings with `str_value`.
    case polymorphic
}

// MARK: - The build

final class Build {
    let compiler: Compiler
    let checked: Checker.CheckedQuery
    let parameters: [String: JSON]
    let now: ISODateTime
    var query: Query { checked.query }
    var dialect: SQLDialect { compiler.dialect }

    var aliasCount = 0
    var problems: [AQLSemanticError.Problem] = []
    var variables: [String: Binding] = [:]
    var plan: [String] = []
    let main = Scope()
    /// Path targets already joined in the main query, by path key.
    var joined: [String: Anchor] = [:]
    /// See `Compiler.compile(_:parameters:now:orderedValuesOnly:)`.
    var orderedValuesOnly = false
    /// Whether a time window on the composition may drive the query (`decideTimeWindow`).
    var timeWindowDrives = true
    /// Archetype roots not joined yet, by alias (see `bindNode`).
    var lazyRoots: [String: LazyRoot] = [:]

    /// An archetyped FROM class directly in a composition, with no class
    /// inside it, is only joined when its own row is needed: a path below it
    /// names its root by number (`root_num`), and the first such path joined
    /// in the main query stands for it. One seek less per result for the
    /// commonest population query shape.
    struct LazyRoot {
        var conditions: [String]
        var joined = false
        /// `t.root_num` of the first path joined below it.
        var bound: String?
    }

    init(compiler: Compiler, checked: Checker.CheckedQuery, parameters: [String: JSON], now: ISODateTime) {
        self.compiler = compiler
        self.checked = checked
        self.parameters = parameters
        self.now = now
    }

    func alias(_ prefix: String) -> String {
        aliasCount += 1
        return "\(prefix)\(aliasCount)"
    }

    func fail(_ position: SourcePosition, _ message: String) {
        problems.append(.init(position: position, message: message))
    }

    static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// Values are rendered inline as SQL literals (strings quoted, numbers
    /// checked), so the statement is complete on its own and the text of a
    /// condition does not depend on where it lands in the statement.
    func literal(_ value: AQLValue) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let number): String(number)
        case .real(let number): number.isFinite ? "\(number)" : "NULL"
        case .text(let text): Self.quote(text)
        }
    }

    // MARK: Run

    func run() -> CompiledQuery {
        let ehrVariablesNeedingTable = ehrVariablesNeedingTable()
        bindFrom(query.from, parent: nil, scope: main, left: false, needsTable: ehrVariablesNeedingTable)
        if let condition = query.condition {
            // Comparisons first: their paths are joined, and bind lazy roots.
            let all = conjuncts(condition)
            decideTimeWindow(all)
            let ordered = all.filter(\.isAtomic) + all.filter { !$0.isAtomic }
            for conjunct in ordered {
                if let sql = render(conjunct, scope: main, joinPaths: true) { main.conditions.append(sql) }
            }
        }
        if orderedValuesOnly {
            for item in query.orderBy {
                var path = item.path
                if case .path(let selected)? = selectColumn(aliasedBy: item)?.expression { path = selected }
                if compositionStartTime(path) != nil { continue }
                guard case .node(let base, let hops, let steps, let types)? = resolve(path), !hops.isEmpty else { continue }
                let target = materialize(base, hops, key: path.key, scope: main, left: false)
                if let (column, _) = leaf(target.node, steps: steps, types: types) { main.conditions.append("\(column) IS NOT NULL") }
            }
        }
        for alias in lazyRoots.keys.sorted() where lazyRoots[alias]?.bound == nil { ensureJoined(alias) }
        var selectSQL: [String] = []
        var columns: [OutputColumn] = []
        var groupBy: [String] = []
        let hasAggregate = query.select.columns.contains { if case .aggregate = $0.expression { true } else { false } }
        var distinctAfterRead = false
        for (index, column) in query.select.columns.enumerated() {
            let name = column.alias ?? "#\(index)"
            let start = selectSQL.count
            switch column.expression {
            case .literal(let literal):
                columns.append(OutputColumn(name: name, path: literal.text, value: .constant(literal.json)))
            case .function(let call):
                if let constant = constantFunction(call) {
                    columns.append(OutputColumn(name: name, path: call.text, value: .constant(constant)))
                } else if let (sql, type) = renderFunction(call, scope: main, joinPaths: false, left: true) {
                    selectSQL.append(sql)
                    groupBy.append(sql)
                    columns.append(OutputColumn(name: name, path: call.text, value: .scalar(index: start, type: type)))
                }
            case .aggregate(let aggregate):
                if let (sql, type) = renderAggregate(aggregate) {
                    selectSQL.append(sql)
                    columns.append(OutputColumn(name: name, path: aggregate.text, value: .scalar(index: start, type: type)))
                }
            case .path(let path):
                guard let resolved = resolve(path) else { continue }
                let output: OutputValue
                switch resolved {
                case .scalar(let sql, let type):
                    selectSQL.append(sql)
                    output = .scalar(index: start, type: type)
                case .anchor(let anchor):
                    if hasAggregate {
                        fail(path.position, "'\(path.variable)' is an RM object: it cannot be grouped by; select one of its values beside an aggregate")
                        continue
                    }
                    selectSQL += [anchor.composition + ".object_id", anchor.versionNumber, anchor.num] + nodeColumns(anchor.node)
                    output = .node(start: start, steps: [])
                    distinctAfterRead = true
                case .node(let base, let hops, let steps, let types):
                    let target = hops.isEmpty ? base : materialize(base, hops, key: path.key, scope: main, left: true)
                    if hasAggregate {
                        // Grouped by the value, not by the node that holds it.
                        guard let (column, kind) = leaf(target.node, steps: steps, types: types), kind != .polymorphic else {
                            fail(path.position, "'\(path.variable)\(path.text)' cannot be grouped by: select one of its values beside an aggregate")
                            continue
                        }
                        selectSQL.append(kind == .date ? "\(target.node ?? "").str_value" : column)
                        output = .scalar(index: start, type: kind == .number ? .number : kind == .boolean ? .boolean : .text)
                    } else {
                        selectSQL += [target.composition + ".object_id", target.versionNumber, target.num] + nodeColumns(target.node)
                        output = .node(start: start, steps: steps)
                        distinctAfterRead = true
                    }
                case .version(let alias, let steps):
                    if hasAggregate {
                        fail(path.position, "'\(path.variable)\(path.text)' cannot be grouped by: select a scalar of the version (uid/value, commit_audit/time_committed/value)")
                        continue
                    }
                    selectSQL += Self.versionColumns.map { "\(alias).\($0)" }
                    output = .version(start: start, steps: steps)
                    distinctAfterRead = true
                }
                groupBy += selectSQL[start...]
                columns.append(OutputColumn(name: name, path: path.text, value: output))
            }
        }
        if hasAggregate, query.select.distinct {
            fail(SourcePosition(line: 1, column: 1), "DISTINCT with aggregate functions is not supported: use COUNT(DISTINCT …)")
        }
        if hasAggregate { distinctAfterRead = false }
        distinctAfterRead = distinctAfterRead && query.select.distinct
        var orderSQL: [String] = []
        for item in query.orderBy {
            if let column = selectColumn(aliasedBy: item) {
                for key in orderKeys(alias: column) { orderSQL.append(key + orderDirection(item.descending)) }
                continue
            }
            for key in orderKeys(item.path) { orderSQL.append(key + orderDirection(item.descending)) }
        }
        if selectSQL.isEmpty { selectSQL.append("1") }
        var sql = "SELECT " + (query.select.distinct && !distinctAfterRead && !hasAggregate ? "DISTINCT " : "")
        sql += selectSQL.joined(separator: ", ") + " FROM " + main.fromClause + main.whereClause
        if hasAggregate && !groupBy.isEmpty { sql += " GROUP BY " + groupBy.joined(separator: ", ") }
        if !orderSQL.isEmpty { sql += " ORDER BY " + orderSQL.joined(separator: ", ") }
        let limit = query.limit ?? query.select.top
        let offset = query.offset ?? 0
        if !distinctAfterRead {
            if let limit { sql += " LIMIT \(limit)" } else if offset > 0 { sql += dialect == .sqlite ? " LIMIT -1" : "" }
            if offset > 0 { sql += " OFFSET \(offset)" }
        }
        return CompiledQuery(
            sql: sql, columns: columns, distinctAfterRead: distinctAfterRead, offset: offset, limit: limit, plan: plan)
    }

    /// Absent values sort as the smallest on both engines: SQLite's own
    /// order (so that an index can serve it), made explicit for PostgreSQL.
    func orderDirection(_ descending: Bool) -> String {
        switch dialect {
        case .sqlite: descending ? " DESC" : " ASC"
        case .postgresql: descending ? " DESC NULLS LAST" : " ASC NULLS FIRST"
        }
    }

    /// The SELECT column an ORDER BY item names by its alias (AQL 1.1 §ORDER BY).
    func selectColumn(aliasedBy item: OrderItem) -> Column? {
        guard variables[item.path.variable] == nil, item.path.path == nil else { return nil }
        return query.select.columns.first { $0.alias == item.path.variable }
    }

    /// Order keys for a SELECT alias: its path's, or its aggregate's or function's SQL.
    func orderKeys(alias column: Column) -> [String] {
        switch column.expression {
        case .path(let path): return orderKeys(path)
        case .aggregate(let aggregate): return renderAggregate(aggregate).map { [$0.0] } ?? []
        case .function(let call): return renderFunction(call, scope: main, joinPaths: false, left: true).map { [$0.0] } ?? []
        case .literal: return []
        }
    }

    static let versionColumns = [
        "object_id", "version_number", "contribution_id", "system_id", "committer", "time_committed", "change_type", "description", "lifecycle_state",
    ]

    func nodeColumns(_ node: String?) -> [String] {
        guard let node else { return Array(repeating: "NULL", count: NodeColumns.names.count) }
        return NodeColumns.names.map { "\(node).\($0)" }
    }

    // MARK: FROM

    /// EHR variables whose paths need the `ehr` table (anything but `ehr_id/value`).
    func ehrVariablesNeedingTable() -> Set<String> {
        var names: Set<String> = []
        for path in allPaths() {
            guard case .ehr? = declaredType(path.variable) else { continue }
            let steps = path.path?.parts.map(\.attribute) ?? []
            if steps != ["ehr_id", "value"] && !steps.isEmpty { names.insert(path.variable) }
        }
        return names
    }

    enum DeclaredKind { case ehr }

    func declaredType(_ variable: String) -> DeclaredKind? {
        checked.variables[variable]?.rmType == "EHR" ? .ehr : nil
    }

    func allPaths() -> [IdentifiedPath] {
        var paths: [IdentifiedPath] = []
        for column in query.select.columns {
            switch column.expression {
            case .path(let path): paths.append(path)
            case .aggregate(let aggregate): if let path = aggregate.path { paths.append(path) }
            case .function(let call): paths += call.arguments.flatMap(\.paths)
            case .literal: break
            }
        }
        if let condition = query.condition { paths += condition.paths }
        paths += query.orderBy.map(\.path)
        return paths
    }

    func bindFrom(_ expression: ContainsExpression, parent: Binding?, scope: Scope, left: Bool, needsTable: Set<String>) {
        switch expression {
        case .and(let a, let b):
            bindFrom(a, parent: parent, scope: scope, left: left, needsTable: needsTable)
            bindFrom(b, parent: parent, scope: scope, left: left, needsTable: needsTable)
        case .or(let a, let b):
            let before = scope.items.count
            bindFrom(a, parent: parent, scope: scope, left: true, needsTable: needsTable)
            let firstBranch = presence(scope, from: before)
            let middle = scope.items.count
            bindFrom(b, parent: parent, scope: scope, left: true, needsTable: needsTable)
            let secondBranch = presence(scope, from: middle)
            if before == 0 {
                fail(a.position, "OR between the outermost FROM classes is not supported: put them under a common container (EHR e CONTAINS (… OR …))")
            } else {
                scope.conditions.append("((\(firstBranch)) OR (\(secondBranch)))")
            }
        case .class(let classExpression, let contains, let negated):
            guard
                let binding = bindClass(
                    classExpression, parent: parent, scope: scope, left: left, needsTable: needsTable, hasChildren: contains != nil)
            else { return }
            guard let contains else {
                if case .ehr(let ehr) = binding { finishEHR(ehr, scope: scope, left: left) }
                return
            }
            if negated {
                let sub = Scope()
                bindFrom(contains, parent: binding, scope: sub, left: false, needsTable: [])
                markNegated(contains)
                scope.conditions.append("NOT EXISTS (SELECT 1 FROM \(sub.fromClause)\(sub.whereClause))")
            } else {
                bindFrom(contains, parent: binding, scope: scope, left: left, needsTable: needsTable)
            }
            if case .ehr(let ehr) = binding { finishEHR(ehr, scope: scope, left: left) }
        }
    }

    /// Whether every table a LEFT JOIN branch introduced (items from `start`) matched.
    func presence(_ scope: Scope, from start: Int) -> String {
        let matched = scope.matched[start...]
        return matched.isEmpty ? "1 = 1" : matched.joined(separator: " AND ")
    }

    func markNegated(_ expression: ContainsExpression) {
        switch expression {
        case .and(let a, let b), .or(let a, let b):
            markNegated(a)
            markNegated(b)
        case .class(let classExpression, let contains, _):
            if let name = classExpression.variable { variables[name] = .negated }
            if let contains { markNegated(contains) }
        }
    }

    func bindClass(
        _ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool, needsTable: Set<String>, hasChildren: Bool = false
    ) -> Binding? {
        let type = expression.rmType
        let name = expression.variable
        let binding: Binding
        switch type {
        case "EHR":
            let ehr = EHRBinding(needsTable: name.map(needsTable.contains) ?? false, predicate: expression.predicate, position: expression.position)
            if parent != nil { fail(expression.position, "EHR can only be the outermost class in FROM") }
            if ehr.needsTable {
                let alias = alias("e")
                scope.add("ehr", alias, on: [], left: left)
                ehr.table = alias
                ehr.ehrID = "\(alias).ehr_id"
            }
            binding = .ehr(ehr)
            plan.append("\(name ?? "EHR"): \(ehr.table.map { "ehr \($0)" } ?? "the ehr_id of its compositions")")
        case "COMPOSITION":
            let anchor: Anchor
            switch parent {
            case .version(_, let versioned)?, .versionedObject(_, let versioned)?:
                // VERSION v CONTAINS COMPOSITION c: c is the version's own composition.
                anchor = versioned
                switch expression.predicate {
                case .archetype(let id)?, .node(let id, nil)?: scope.conditions.append("\(anchor.composition).archetype_id = \(Self.quote(id))")
                case nil: break
                case let other?: fail(expression.position, "unsupported COMPOSITION predicate [\(other.text)]")
                }
            default:
                anchor = bindComposition(expression, parent: parent, scope: scope, left: left)
            }
            binding = .composition(anchor)
            plan.append("\(name ?? "COMPOSITION"): aql_composition \(anchor.composition)")
        case "VERSION":
            let composition = implicitComposition(parent: parent, scope: scope, left: left, position: expression.position)
            let alias = alias("v")
            var conditions = ["\(alias).object_id = \(composition.composition).object_id"]
            if expression.versionPredicate != .all {
                conditions.append("\(alias).version_number = \(composition.composition).version_number")
            }
            scope.add("object_version", alias, on: conditions, left: left)
            if case .standard? = expression.versionPredicate {
                fail(expression.position, "a VERSION predicate other than LATEST_VERSION and ALL_VERSIONS is not supported")
            }
            var versioned = composition
            if expression.versionPredicate == .all {
                versioned.version = "\(alias).version_number"
                versioned.allVersions = true
            }
            binding = .version(alias: alias, composition: versioned)
            plan.append("\(name ?? "VERSION"): object_version \(alias)\(expression.versionPredicate == .all ? " (all versions)" : " (latest)")")
        case "VERSIONED_OBJECT", "VERSIONED_COMPOSITION":
            let composition = implicitComposition(parent: parent, scope: scope, left: left, position: expression.position)
            let alias = alias("vo")
            scope.add("versioned_object", alias, on: ["\(alias).object_id = \(composition.composition).object_id"], left: left)
            binding = .versionedObject(alias: alias, composition: composition)
            plan.append("\(name ?? type): versioned_object \(alias)")
        default:
            let underAllVersions: Bool
            switch parent {
            case .version(_, let composition)?, .composition(let composition)?: underAllVersions = composition.allVersions
            default: underAllVersions = false
            }
            if underAllVersions {
                fail(expression.position, "under VERSION[ALL_VERSIONS] only the composition itself can be contained: older versions are not in the node index")
                return nil
            }
            guard let anchor = bindNode(expression, parent: parent, scope: scope, left: left, hasChildren: hasChildren) else { return nil }
            binding = .node(anchor)
            plan.append("\(name ?? type): aql_node \(anchor.node ?? "")")
        }
        if let name { variables[name] = binding }
        return binding
    }

    /// The composition a class below an EHR (or a VERSION) belongs to: the
    /// parent's own when it is one, a new alias otherwise.
    func implicitComposition(parent: Binding?, scope: Scope, left: Bool, position: SourcePosition) -> Anchor {
        switch parent {
        case .composition(let anchor)?: return anchor
        case .version(_, let composition)?, .versionedObject(_, let composition)?: return composition
        case .node(let anchor)?: return anchor
        default:
            return bindComposition(ClassExpression(rmType: "COMPOSITION", variable: nil, position: position), parent: parent, scope: scope, left: left)
        }
    }

    func bindComposition(_ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool) -> Anchor {
        let alias = alias("c")
        var conditions: [String] = []
        var archetype = "\(alias).archetype_id"
        switch parent {
        case .ehr(let ehr)?:
            if let ehrID = ehr.ehrID { conditions.append("\(alias).ehr_id = \(ehrID)") } else { ehr.ehrID = "\(alias).ehr_id" }
        case .version?, .versionedObject?:
            break
        case .composition?, .node?:
            fail(expression.position, "a COMPOSITION cannot be contained in another COMPOSITION or in one of its nodes")
        case .negated?, nil:
            break
        }
        switch expression.predicate {
        case .archetype(let id)?, .node(let id, nil)?:
            conditions.append("\(alias).archetype_id = \(Self.quote(id))")
            archetype = Self.quote(id)
        case nil:
            break
        case let other?:
            fail(expression.position, "unsupported COMPOSITION predicate \(other)")
        }
        scope.add("aql_composition", alias, on: conditions, left: left)
        return Anchor(
            composition: alias, cid: "\(alias).cid", num: "0", numCap: nil, rootNum: "0", apath: "", apathColumn: "''", archetypeID: archetype,
            types: ["COMPOSITION"], node: nil)
    }

    func bindNode(_ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool, hasChildren: Bool = false) -> Anchor? {
        let container = implicitComposition(parent: parent, scope: scope, left: left, position: expression.position)
        let alias = alias("n")
        let types = RMTypeHierarchy.concreteTypes(of: expression.rmType)
        var conditions = ["\(alias).cid = \(container.cid)"]
        if container.node != nil, let numCap = container.numCap {
            conditions += ["\(alias).num > \(container.num)", "\(alias).num <= \(numCap)"]
        }
        var apath: String?
        var archetype = "\(alias).archetype_id"
        // An archetype root is its own root: naming its number lets a path below it seek on it.
        var rootNum = "\(alias).root_num"
        switch expression.predicate {
        case .archetype(let id)?:
            conditions += ["\(alias).archetype_id = \(Self.quote(id))", "\(alias).apath = ''"]
            apath = ""
            archetype = Self.quote(id)
            rootNum = "\(alias).num"
        case .node(let id, let name)?:
            if NodeProjection.isArchetypeRoot(id) {
                conditions += ["\(alias).archetype_id = \(Self.quote(id))", "\(alias).apath = ''"]
                apath = ""
                archetype = Self.quote(id)
                rootNum = "\(alias).num"
            } else {
                conditions.append("\(alias).node_id = \(Self.quote(id))")
            }
            if let name, let text = predicateText(name, expression.position) { conditions.append("\(alias).name = \(text)") }
        case nil:
            break
        case let other?:
            fail(expression.position, "unsupported predicate on \(expression.rmType): \(other)")
        }
        let typeList = types.sorted().map(Self.quote).joined(separator: ", ")
        conditions.append(types.count == 1 ? "\(alias).rm_type = \(typeList)" : "\(alias).rm_type IN (\(typeList))")
        if scope === main, !left, !hasChildren, container.node == nil, apath == "", expression.variable != nil {
            lazyRoots[alias] = LazyRoot(conditions: conditions)
        } else {
            scope.add("aql_node", alias, on: conditions, left: left)
        }
        return Anchor(
            composition: container.composition, cid: lazyRoots[alias] != nil ? container.cid : "\(alias).cid", num: "\(alias).num",
            numCap: "\(alias).num_cap", rootNum: rootNum, apath: apath, apathColumn: "\(alias).apath", archetypeID: archetype, types: types,
            node: alias)
    }

    /// Joins a lazy root's own row (when something needs more than its number).
    func ensureJoined(_ alias: String?) {
        guard let alias, var root = lazyRoots[alias], !root.joined else { return }
        root.joined = true
        lazyRoots[alias] = root
        main.add("aql_node", alias, on: root.conditions + (root.bound.map { ["\(alias).num = \($0)"] } ?? []))
    }

    /// Binds the EHR's own conditions once its compositions are known.
    func finishEHR(_ ehr: EHRBinding, scope: Scope, left: Bool) {
        if ehr.ehrID == nil {
            let alias = alias("e")
            scope.add("ehr", alias, on: [], left: left)
            ehr.table = alias
            ehr.ehrID = "\(alias).ehr_id"
        }
        guard let predicate = ehr.predicate, let ehrID = ehr.ehrID else { return }
        if case .comparison(let path, let op, let value) = predicate, path.parts.map(\.attribute) == ["ehr_id", "value"] {
            if let operand = predicateText(value, ehr.position, lowercase: true) {
                scope.conditions.append("\(ehrID) \(sqlOperator(op)) \(operand)")
            }
        } else {
            fail(ehr.position, "only [ehr_id/value = …] is supported as an EHR predicate")
        }
    }

    /// A predicate value as SQL: a quoted literal or a bound parameter.
    func predicateText(_ value: PredicateValue, _ position: SourcePosition, lowercase: Bool = false) -> String? {
        switch value {
        case .literal(.string(let text)): return Self.quote(lowercase ? text.lowercased() : text)
        case .literal(let literal): return literal.text
        case .parameter(let name):
            guard let given = parameters[name] else {
                fail(position, "parameter $\(name) is used but not given (query_parameters)")
                return nil
            }
            if let text = given.stringValue { return literal(.text(lowercase ? text.lowercased() : text)) }
            return literal(Self.value(given))
        case .code(let code): return Self.quote(code)
        case .path:
            fail(position, "a path is not supported as a predicate value")
            return nil
        }
    }

    static func value(_ json: JSON) -> AQLValue {
        switch json {
        case .string(let text): .text(text)
        case .number(let text): Int64(text).map(AQLValue.integer) ?? Double(text).map(AQLValue.real) ?? .null
        case .bool(let flag): .integer(flag ? 1 : 0)
        default: .null
        }
    }

    func sqlOperator(_ op: ComparisonOperator) -> String { op == .notEqual ? "<>" : op.rawValue }
}
