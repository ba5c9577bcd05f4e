import JSONCore

/// An AQL query planned over the node index (docs/architecture.md §AQL): the
/// tables it joins, the conditions, what it selects, its order and its page,
/// as typed values. It holds no SQL: Storage renders it for its engine, with
/// every value of the query bound as a parameter.
///
/// The stages: parse (`Parser`) → check (`Checker`) → plan (`Planner`) →
/// render and run (Storage) → read (the query service).
public struct QueryPlan: Sendable, Equatable {
    public var selections: [PlanSelection]
    /// SQL DISTINCT (DISTINCT over whole RM objects is applied after reading: `distinctAfterRead`).
    public var distinct: Bool
    /// The first source is the query's FROM table; the others are joined to it.
    public var sources: [PlanSource]
    /// The sources are in the order to read them: one patient's query starts
    /// from that patient's compositions, whatever the statistics say (SQLite
    /// keeps the order with CROSS JOIN; PostgreSQL chooses by itself).
    public var fixedOrder: Bool
    public var conditions: [PlanCondition]
    /// Aggregates are selected: the rows are grouped by every other selection.
    public var grouped: Bool
    public var orderBy: [PlanOrder]
    /// The query's LIMIT (or TOP) and OFFSET.
    public var limit: Int?
    public var offset: Int
    /// DISTINCT over whole RM objects is applied after they are read, and
    /// then so are OFFSET and LIMIT; otherwise the statement applies them.
    public var distinctAfterRead: Bool
    /// The AQL result columns, each read from one selection.
    public var columns: [OutputColumn]
    /// How each FROM variable was bound, for `explain`.
    public var bindings: [String]
    /// The selection holding each row's EHR id, when it was asked for
    /// (the access trace names the EHRs whose rows a query returned).
    public var ehrSelection: Int? = nil
}

/// The tables a plan reads, by role: the node index (one row per indexed
/// composition, one per node) and the version store. Storage names them.
public enum PlanTable: String, Sendable, Hashable {
    case composition
    case node
    case version
    case versionedObject
    case ehr
    /// A version read for its canonical JSON (`PlanStoredValue`): the same
    /// table as `version`, which Storage may also parse once per row.
    case document
    /// The folders of each EHR's directory, and the objects their items name.
    case folder
    case folderItem
}

/// The columns a plan reads, by meaning. Storage maps each to its table's
/// column (`IndexSchema`), the same names the index projection writes.
public enum PlanColumn: String, Sendable, Hashable, CaseIterable {
    // The composition row.
    case cid, objectID, versionNumber, ehrID, templateID, archetypeID, composer, startTime, timeCommitted
    // A node row (and `cid`, `archetypeID`).
    case num, numCap, rootNum, rmType, nodeID, apath, name, numValue, strValue, code, terminology, units, jsonPath
    // A version, a versioned object, an EHR.
    case contributionID, systemID, committer, changeType, description, lifecycleState, timeCreated
    case subjectID, subjectNamespace, isQueryable, isModifiable, statusObjectID, latestVersion
    /// A version's canonical JSON.
    case document
    /// The object a folder's item refers to.
    case itemID
}

/// A table alias: its letter says what it is (`c` composition, `n` FROM
/// node, `t` path node, `v` version, `vo` versioned object, `e` EHR) and
/// its number the order the planner made it in.
public struct PlanAlias: Sendable, Hashable, CustomStringConvertible {
    public var prefix: String
    public var number: Int

    public init(prefix: String, number: Int) {
        self.prefix = prefix
        self.number = number
    }

    public var description: String { prefix + String(number) }
}

/// One table of the FROM clause, joined to those before it.
public struct PlanSource: Sendable, Equatable {
    public enum Join: Sendable, Equatable {
        case inner
        /// LEFT JOIN: the row may be missing (OR between contained classes, a selected path).
        case left
    }

    public var table: PlanTable
    public var alias: PlanAlias
    public var join: Join
    /// The join conditions; for the first source, they go to WHERE.
    public var on: [PlanCondition]

    public init(table: PlanTable, alias: PlanAlias, join: Join, on: [PlanCondition]) {
        self.table = table
        self.alias = alias
        self.join = join
        self.on = on
    }
}

/// A scalar expression.
public indirect enum PlanExpression: Sendable, Equatable {
    case column(PlanAlias, PlanColumn)
    /// A value from the query (a literal, a parameter, an archetype id, a
    /// node path, a name): bound as a parameter, never written into the statement.
    case value(AQLValue)
    /// A constant of the index layout (an archetype root's empty path, the
    /// composition root's number 0, a flag): written into the statement, so
    /// that the database's planner can match it to its partial indexes.
    case constant(AQLValue)
    /// String concatenation.
    case concat([PlanExpression])
    case function(PlanFunction, [PlanExpression])
    /// COUNT, MIN, MAX, SUM, AVG; COUNT(*) has no argument.
    case aggregate(PlanAggregate, distinct: Bool, PlanExpression?)
    /// An aggregate of quantities, null unless they are all in one unit
    /// (`units`, as the index keeps them): SUM and AVG of DV_QUANTITY.
    case inOneUnit(units: PlanExpression, PlanExpression)
    /// Compares as the expression does, but must not drive the join order
    /// (SQLite's unary `+`; PostgreSQL plans with statistics of its own).
    case notDriving(PlanExpression)
    /// An ITEM_TAG of a composition's versioned object or of its version
    /// (Socle's AQL `TAG` and `TAGGED`, docs/architecture.md §Tags).
    case tag(PlanTag)
    /// An attribute the index has no column for, read from the stored
    /// canonical JSON of the version (issue 19 §1).
    case stored(PlanStoredValue)
}

/// The value at `jsonPath` (`$.context.location`, or a node's `jpath`
/// followed by the attributes below it) in the canonical JSON of the
/// version joined as `document` (a `document` table alias), read as `type`;
/// null when it is absent. A join rather than a sub-query, so that a
/// grouped plan can group by it (PostgreSQL refuses a sub-query that reads
/// an ungrouped column).
public struct PlanStoredValue: Sendable, Equatable {
    public enum ValueType: Sendable, Equatable {
        case text, number
        /// 0 or 1, as the index keeps booleans.
        case boolean
    }

    public var document: PlanAlias
    public var jsonPath: PlanExpression
    public var type: ValueType

    public init(document: PlanAlias, jsonPath: PlanExpression, type: ValueType) {
        self.document = document
        self.jsonPath = jsonPath
        self.type = type
    }
}

/// The tag with `key` at `targetPath` of the object `objectID`, on the
/// object itself or on version `versionNumber` (the version's wins):
/// whether there is one (`presence`), or its value (`''` for a tag without
/// one, null when there is none).
public struct PlanTag: Sendable, Equatable {
    public var objectID: PlanExpression
    public var versionNumber: PlanExpression
    public var key: PlanExpression
    public var targetPath: PlanExpression
    public var presence: Bool

    public init(objectID: PlanExpression, versionNumber: PlanExpression, key: PlanExpression, targetPath: PlanExpression, presence: Bool) {
        self.objectID = objectID
        self.versionNumber = versionNumber
        self.key = key
        self.targetPath = targetPath
        self.presence = presence
    }
}

extension PlanExpression {
    /// Whether an aggregate is in it: what a grouped plan groups by has none.
    public var containsAggregate: Bool {
        switch self {
        case .aggregate, .inOneUnit: true
        case .concat(let parts), .function(_, let parts): parts.contains { $0.containsAggregate }
        case .notDriving(let inner): inner.containsAggregate
        case .column, .value, .constant, .tag, .stored: false
        }
    }
}

extension QueryPlan {
    /// The selections a grouped plan groups by: every scalar without an aggregate.
    public var groupingSelections: [Int] {
        guard grouped else { return [] }
        return selections.indices.filter { index in
            if case .scalar(let expression) = selections[index] { return !expression.containsAggregate }
            return false
        }
    }
}

/// The AQL functions (AQL 1.1 §4.9) and the conversions they need.
public enum PlanFunction: String, Sendable, Equatable {
    case length, contains, position, substring, abs, mod, ceil, floor, round
    /// COALESCE(x, '')
    case orEmpty
    /// CAST(x AS INTEGER)
    case integer
    /// The uid of the version before: `object id || '::system::' || (n - 1)`,
    /// null for a first version (arguments: object id, the `::system::` text, n).
    case precedingVersion
}

public enum PlanAggregate: String, Sendable, Equatable {
    case count = "COUNT", min = "MIN", max = "MAX", sum = "SUM", avg = "AVG"
}

/// A condition of WHERE, of a join, or of a sub-query.
public indirect enum PlanCondition: Sendable, Equatable {
    case always(Bool)
    case compare(PlanExpression, ComparisonOperator, PlanExpression)
    case isNull(PlanExpression)
    case isNotNull(PlanExpression)
    case anyOf(PlanExpression, [PlanExpression])
    /// AQL LIKE (AQL 1.1 §4.8.3), case-sensitive: `*` any run of characters,
    /// `?` one, `\` makes the next character itself; `%` and `_` are themselves.
    case like(PlanExpression, pattern: String)
    /// An index path equal to `pattern` where each `[%]` stands for any node id.
    case pathMatches(PlanExpression, pattern: String)
    /// An index path equal to another path expression followed by
    /// `relative`, whose `[%]` stand for any node id.
    case pathBelow(PlanExpression, base: PlanExpression, relative: String)
    case and([PlanCondition])
    case or([PlanCondition])
    case not(PlanCondition)
    case exists(PlanSubquery)
    case notExists(PlanSubquery)
    /// Whether a LEFT JOINed table matched.
    case matched(PlanAlias, PlanTable)
    /// The EHR with this id may be queried: its EHR_STATUS.is_queryable is
    /// true (RM ehr package §EHR_STATUS; issue 19 §5).
    case queryable(PlanExpression)
}

/// `EXISTS (SELECT 1 FROM … WHERE …)`.
public struct PlanSubquery: Sendable, Equatable {
    public var sources: [PlanSource]
    public var conditions: [PlanCondition]

    public init(sources: [PlanSource], conditions: [PlanCondition]) {
        self.sources = sources
        self.conditions = conditions
    }
}

/// What a result row holds for one AQL column.
public enum PlanSelection: Sendable, Equatable {
    case scalar(PlanExpression)
    /// A node, or a composition's root: its composition's object id and
    /// version, its number in the composition, and its index columns (none
    /// for a composition root). All null when the node is absent.
    case node(composition: PlanAlias, version: PlanExpression, num: PlanExpression, node: PlanAlias?)
    /// A version's envelope (id, number, contribution, audit, lifecycle state).
    case version(PlanAlias)
    /// MIN or MAX of a data value object: the node whose ordering value is the
    /// extreme among the rows grouped (an aggregate).
    case extreme(PlanExtreme)
}

/// The node with the largest (or smallest) ordering value, `keys` compared in
/// turn, absent values last: AQL MIN and MAX of an RM object (issue 19 §3).
public struct PlanExtreme: Sendable, Equatable {
    public var maximum: Bool
    public var keys: [PlanExpression]
    public var objectID: PlanExpression
    public var versionNumber: PlanExpression
    public var num: PlanExpression

    public init(maximum: Bool, keys: [PlanExpression], objectID: PlanExpression, versionNumber: PlanExpression, num: PlanExpression) {
        self.maximum = maximum
        self.keys = keys
        self.objectID = objectID
        self.versionNumber = versionNumber
        self.num = num
    }
}

/// One ORDER BY key. Absent values sort as the smallest on both engines.
public struct PlanOrder: Sendable, Equatable {
    public enum Key: Sendable, Equatable {
        case expression(PlanExpression)
        /// A selection, by its index in `selections` (a SELECT alias).
        case selection(Int)
    }

    public var key: Key
    public var descending: Bool

    public init(key: Key, descending: Bool) {
        self.key = key
        self.descending = descending
    }
}

/// One column of the AQL result set.
public struct OutputColumn: Sendable, Equatable {
    /// The alias, or the column as written when it has none.
    public var name: String
    /// The column as written in the query, with its variable (`o/data[at0001]/…`),
    /// as the most used open implementation and the clients built on it give it.
    public var path: String
    public var value: OutputValue
}

/// Where a result column's value comes from.
public enum OutputValue: Sendable, Equatable {
    /// A constant: literals, CURRENT_DATE and the like.
    case constant(JSON)
    /// The scalar of selection `selection`.
    case scalar(selection: Int, type: ScalarType)
    /// The node of selection `selection`, then the RM attributes `steps`
    /// below it; null when the node is absent.
    case node(selection: Int, steps: [String])
    /// The version envelope of selection `selection`, then `steps`.
    case version(selection: Int, steps: [String])
}

public enum ScalarType: Sendable, Equatable {
    case text
    case number
    case integer
    case boolean
    /// Microseconds since the epoch, rendered as an ISO 8601 date-time.
    case timestamp
}

/// A query value, as the plan binds it.
public enum AQLValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}
