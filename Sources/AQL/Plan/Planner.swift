import JSONCore
import OpenEHR

/// Plans a checked AQL query over the node index: the plan stage of parse →
/// check → plan → render (docs/architecture.md §AQL). The plan is a typed
/// value with no SQL in it; Storage renders it for its engine.
///
/// FROM variables become table aliases: a COMPOSITION is a row of the
/// composition table, any other RM class a node row contained in its parent
/// by the pre-order interval, an EHR the composition's EHR id (or the EHR
/// table when its own attributes are asked for), a VERSION a row of the
/// versions. A path below a variable becomes one more node row found by
/// `(archetype, path)` under the variable's archetype root. WHERE conditions
/// that are plain conjuncts join those rows (so the database can start from
/// the value index); conditions under OR and NOT, EXISTS and NOT CONTAINS
/// become sub-queries.
public struct Planner: Sendable {
    /// The system id in version uids (`uuid::system::n`).
    public let systemID: String
    /// Where values are read from: the node index's columns, or (`.stored`)
    /// every attribute below a node from the stored JSON, the index giving
    /// only the nodes. The answers are the same (every AQL test query runs
    /// both ways); the index is faster.
    public let values: ValueSource

    public enum ValueSource: Sendable {
        case index
        case stored
    }

    public init(systemID: String, values: ValueSource = .index) {
        self.systemID = systemID
        self.values = values
    }

    /// Plans with the query parameters (`$name`) given; a parameter that is
    /// used but not given is an error.
    ///
    /// `orderedValuesOnly`: ORDER BY paths are inner-joined and must have a
    /// value. With descending keys and a LIMIT, the rows with values come
    /// first anyway (absent values sort as the smallest), so when this plan
    /// fills the page it is the page; it lets the database read the value
    /// index in order instead of sorting every row (`QueryService`).
    public func plan(
        _ checked: Checker.CheckedQuery, parameters: [String: JSON] = [:], now: ISODateTime = .now(), orderedValuesOnly: Bool = false,
        restrictedTo ehrIDs: [String]? = nil, reportingEHRs: Bool = false
    ) throws(AQLSemanticError) -> QueryPlan {
        let builder = PlanBuilder(planner: self, checked: checked, parameters: parameters, now: now)
        builder.orderedValuesOnly = orderedValuesOnly
        builder.restriction = ehrIDs
        builder.reportingEHRs = reportingEHRs
        let plan = builder.run()
        if !builder.problems.isEmpty { throw AQLSemanticError(problems: builder.problems) }
        return plan
    }
}

// MARK: - Bindings

/// A row an index path can start from: a composition's root or a node.
struct Anchor {
    var composition: PlanAlias
    var cid: PlanExpression
    var num: PlanExpression
    /// nil for a composition root (it contains every node of its cid).
    var numCap: PlanExpression?
    var rootNum: PlanExpression
    /// The node's path from its archetype root, when the query fixes it.
    var apath: String?
    var apathColumn: PlanExpression
    /// A bound value when the query fixes the archetype, else a column.
    var archetypeID: PlanExpression
    var types: Set<String>
    /// The node alias, nil for a composition root.
    var node: PlanAlias?
    /// The version whose document is read: the indexed (latest) one, or a
    /// VERSION variable's with ALL_VERSIONS.
    var version: PlanExpression? = nil
    /// Under VERSION[ALL_VERSIONS], only the latest version is indexed:
    /// paths into the composition cannot be answered from the index.
    var allVersions = false
    /// A stored version that is itself the anchor (an EHR_STATUS): its
    /// attributes are read from its JSON, with no index row.
    var document: PlanAlias? = nil
    /// Where the anchor is in its document, when it has no node row (a folder).
    var jsonPath: PlanExpression? = nil

    var versionNumber: PlanExpression { version ?? .column(composition, .versionNumber) }
}

final class EHRBinding {
    var ehrID: PlanExpression?
    var table: PlanAlias?
    var needsTable: Bool
    var predicate: Predicate?
    var position: SourcePosition

    init(needsTable: Bool, predicate: Predicate?, position: SourcePosition) {
        self.needsTable = needsTable
        self.predicate = predicate
        self.position = position
    }

    /// A table with an `ehr_id` joined below this EHR: the first gives the
    /// EHR its id, each next one must have the same.
    func join(_ alias: PlanAlias) -> [PlanCondition] {
        if let ehrID { return [.compare(.column(alias, .ehrID), .equal, ehrID)] }
        ehrID = .column(alias, .ehrID)
        return []
    }
}

enum Binding {
    case ehr(EHRBinding)
    case composition(Anchor)
    case node(Anchor)
    case version(alias: PlanAlias, composition: Anchor)
    case versionedObject(alias: PlanAlias, composition: Anchor)
    /// The latest version of an EHR's EHR_STATUS, read from its stored JSON
    /// (`Anchor.document`).
    case ehrStatus(Anchor)
    /// A FOLDER of an EHR's directory (`aql_folder`).
    case folder(Anchor)
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

/// Sources and conditions of one SELECT (the query, or an EXISTS sub-query).
final class Scope {
    var sources: [PlanSource] = []
    var conditions: [PlanCondition] = []
    /// The stored versions joined to read values the index has no column
    /// for, one per composition and version (`PlanBuilder.document`).
    var documents: [DocumentKey: PlanAlias] = [:]

    struct DocumentKey: Hashable {
        var composition: PlanAlias
        var version: String
    }
    /// Whether each source matched (a LEFT JOIN), source by source.
    var matched: [PlanCondition] = []

    func add(_ table: PlanTable, _ alias: PlanAlias, on conditions: [PlanCondition], left: Bool = false) {
        matched.append(.matched(alias, table))
        if sources.isEmpty {
            sources.append(PlanSource(table: table, alias: alias, join: .inner, on: []))
            self.conditions += conditions
        } else {
            sources.append(PlanSource(table: table, alias: alias, join: left ? .left : .inner, on: conditions))
        }
    }

    var isEmpty: Bool { sources.isEmpty }

    func subquery(adding extra: [PlanCondition] = []) -> PlanSubquery {
        PlanSubquery(sources: sources, conditions: conditions + extra)
    }
}

/// One more index row on the way down a path.
enum Hop {
    /// The node at this path below the anchor, in the anchor's archetype.
    case path(String, pattern: Bool, name: PlanExpression?)
    /// An archetype root contained in the anchor.
    case root(String)
    /// The composition's own root row.
    case compositionRoot
}

/// What a path is, once bound to its variable.
enum Resolved {
    case scalar(PlanExpression, ScalarType)
    /// A FROM variable itself (a composition or a node).
    case anchor(Anchor)
    /// An index row reached by `hops` from `base`, then RM attributes `steps` into it.
    case node(base: Anchor, hops: [Hop], steps: [String], types: Set<String>)
    case version(alias: PlanAlias, steps: [String])
}

/// How a leaf compares: which column, and how literals are read for it.
enum LeafKind {
    case number
    case text
    /// The number column holds microseconds; string literals are read as ISO 8601.
    case date
    case boolean
    /// DATA_VALUE `value`: numbers compare with the number column, date strings too, other strings with the text column.
    case polymorphic
}

// MARK: - The builder

/// The planner's working state for one query.
final class PlanBuilder {
    let planner: Planner
    let checked: Checker.CheckedQuery
    let parameters: [String: JSON]
    let now: ISODateTime
    var query: Query { checked.query }

    var aliasCount = 0
    var problems: [AQLSemanticError.Problem] = []
    var variables: [String: Binding] = [:]
    var bindings: [String] = []
    let main = Scope()
    /// Path targets already joined in the main query, by path key.
    var joined: [String: Anchor] = [:]
    /// See `Planner.plan(_:parameters:now:orderedValuesOnly:)`.
    var orderedValuesOnly = false
    /// The EHRs a user may read (a token's patient context); nil: all.
    var restriction: [String]?
    /// Select each row's EHR id too (`QueryPlan.ehrSelection`).
    var reportingEHRs = false
    /// Whether a time window on the composition may drive the query (`decideTimeWindow`).
    var timeWindowDrives = true
    /// The query is about one EHR (`EHR e[ehr_id/value = …]`): its compositions drive.
    var onePatient = false
    /// Archetype roots not joined yet, by alias (see `bindNode`).
    var lazyRoots: [PlanAlias: LazyRoot] = [:]

    /// An archetyped FROM class directly in a composition, with no class
    /// inside it, is only joined when its own row is needed: a path below it
    /// names its root by number (`rootNum`), and the first such path joined
    /// in the main query stands for it. One seek less per result for the
    /// commonest population query shape.
    struct LazyRoot {
        var conditions: [PlanCondition]
        var joined = false
        /// The root number of the first path joined below it.
        var bound: PlanExpression?
    }

    init(planner: Planner, checked: Checker.CheckedQuery, parameters: [String: JSON], now: ISODateTime) {
        self.planner = planner
        self.checked = checked
        self.parameters = parameters
        self.now = now
    }

    func alias(_ prefix: String) -> PlanAlias {
        aliasCount += 1
        return PlanAlias(prefix: prefix, number: aliasCount)
    }

    func fail(_ position: SourcePosition, _ message: String) {
        problems.append(.init(position: position, message: message))
    }

    // MARK: Run

    func run() -> QueryPlan {
        bindFrom(query.from, parent: nil, scope: main, left: false, needsTable: ehrVariablesNeedingTable())
        if let condition = query.condition {
            // Comparisons first: their paths are joined, and bind lazy roots.
            let all = conjuncts(condition)
            decideTimeWindow(all)
            for conjunct in all.filter(\.isAtomic) + all.filter({ !$0.isAtomic }) {
                if let planned = plan(conjunct, scope: main, joinPaths: true) { main.conditions.append(planned) }
            }
        }
        if orderedValuesOnly { requireOrderedValues() }
        if let ehrID = populationEHR() { main.conditions.append(.queryable(ehrID)) }
        if let restriction { restrict(main, to: restriction) }
        for alias in lazyRoots.keys.sorted(by: { $0.number < $1.number }) where lazyRoots[alias]?.bound == nil { ensureJoined(alias) }
        var select = SelectPlan()
        select.hasAggregate = query.select.columns.contains { if case .aggregate = $0.expression { true } else { false } }
        for column in query.select.columns {
            plan(column, name: column.alias ?? column.expression.text, into: &select)
        }
        if select.hasAggregate, query.select.distinct {
            fail(SourcePosition(line: 1, column: 1), "DISTINCT with aggregate functions is not supported: use COUNT(DISTINCT …)")
        }
        let distinctAfterRead = !select.hasAggregate && select.readsObjects && query.select.distinct
        var order: [PlanOrder] = []
        for item in query.orderBy {
            for key in orderKeys(item, select) {
                // One patient's rows are few: sorting them beats reading an index in order.
                if onePatient, case .expression(let expression) = key {
                    order.append(PlanOrder(key: .expression(.notDriving(expression)), descending: item.descending))
                } else {
                    order.append(PlanOrder(key: key, descending: item.descending))
                }
            }
        }
        let ehrSelection = reportingEHRs ? reportedEHR(&select) : nil
        return QueryPlan(
            selections: select.selections, distinct: query.select.distinct && !distinctAfterRead && !select.hasAggregate, sources: main.sources,
            fixedOrder: onePatient, conditions: main.conditions, grouped: select.hasAggregate, orderBy: order, limit: query.limit ?? query.select.top,
            offset: query.offset ?? 0, distinctAfterRead: distinctAfterRead, columns: select.columns, bindings: bindings, ehrSelection: ehrSelection)
    }

    /// The EHR id of a population query's rows: the outermost class's, when
    /// the query names no EHR (a FROM predicate, or a WHERE conjunct `e/ehr_id/value
    /// = …` or MATCHES). Those rows leave out EHRs whose EHR_STATUS says
    /// `is_queryable = false`; a query naming the EHR reads it whatever its
    /// status says (RM ehr package §EHR_STATUS; issue 19 §5).
    func populationEHR() -> PlanExpression? {
        guard !onePatient, let first = main.sources.first else { return nil }
        let conjuncts = query.condition.map(conjuncts) ?? []
        for conjunct in conjuncts {
            let named: IdentifiedPath?
            switch conjunct {
            case .comparison(.path(let path), .equal, _), .comparison(_, .equal, .path(let path)), .matches(let path, _): named = path
            default: named = nil
            }
            guard let path = named, case .ehr? = variables[path.variable] else { continue }
            if path.path?.parts.map(\.attribute) == ["ehr_id", "value"] { return nil }
        }
        switch first.table {
        case .composition, .ehr, .versionedObject, .version, .document, .folder: return .column(first.alias, .ehrID)
        case .node, .folderItem: return nil
        }
    }

    /// ORDER BY paths inner-joined, with a value (see `orderedValuesOnly`).
    func requireOrderedValues() {
        for item in query.orderBy {
            var path = item.path
            if case .path(let selected)? = selectColumn(aliasedBy: item)?.expression { path = selected }
            if compositionStartTime(path) != nil { continue }
            guard case .node(let base, let hops, let steps, let types)? = resolve(path), !hops.isEmpty else { continue }
            let target = materialize(base, hops, key: path.key, scope: main, left: false)
            if let (column, _) = value(target, steps: steps, types: types, path, scope: main, report: false) { main.conditions.append(.isNotNull(column)) }
        }
    }

    /// The SELECT column an ORDER BY item names by its alias (AQL 1.1 §ORDER BY).
    func selectColumn(aliasedBy item: OrderItem) -> Column? {
        guard variables[item.path.variable] == nil, item.path.path == nil else { return nil }
        return query.select.columns.first { $0.alias == item.path.variable }
    }

    /// ORDER BY keys of one item: a SELECT alias orders by what it selects
    /// (its path's keys, or the selection itself); a path by its keys.
    func orderKeys(_ item: OrderItem, _ select: SelectPlan) -> [PlanOrder.Key] {
        if select.hasAggregate { return groupedOrderKeys(item, select) }
        guard let column = selectColumn(aliasedBy: item) else { return orderKeys(item.path).map(PlanOrder.Key.expression) }
        switch column.expression {
        case .path(let path): return orderKeys(path).map(PlanOrder.Key.expression)
        case .aggregate, .function:
            return select.scalarSelection(named: item.path.variable).map { [.selection($0)] } ?? []
        case .literal: return []
        }
    }

    /// In a query with aggregates, ORDER BY names a selected column, by its
    /// alias or as written (AQL 1.1 §4.6), and orders by its position: every
    /// other value is neither grouped nor aggregated (SQLite would take any
    /// row's, PostgreSQL refuses it), and the same expression written twice
    /// would bind its values twice, which PostgreSQL cannot match to the one
    /// grouped by.
    func groupedOrderKeys(_ item: OrderItem, _ select: SelectPlan) -> [PlanOrder.Key] {
        let named = selectColumn(aliasedBy: item).map { column in select.columns.first { $0.name == column.alias } } ?? nil
        let written = named ?? select.columns.first { $0.path == item.path.key }
        if case .scalar(let selection, _)? = written?.value { return [.selection(selection)] }
        fail(
            item.path.position,
            "in a query with aggregates, ORDER BY names a selected value or an aggregate's alias: '\(item.path.key)' is neither selected nor aggregated here")
        return []
    }
}

/// What SELECT plans to: the selections of the statement and the AQL
/// result columns read from them.
struct SelectPlan {
    var selections: [PlanSelection] = []
    var columns: [OutputColumn] = []
    var hasAggregate = false
    /// Whole RM objects are read from the versions.
    var readsObjects = false
    /// The selection of each aliased scalar column, by alias.
    var scalarsByAlias: [String: Int] = [:]

    mutating func add(_ selection: PlanSelection) -> Int {
        selections.append(selection)
        return selections.count - 1
    }

    func scalarSelection(named alias: String) -> Int? { scalarsByAlias[alias] }
}
