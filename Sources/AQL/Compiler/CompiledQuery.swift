import JSONCore

/// The SQL dialects Socle renders AQL into.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgresql
}

/// A query parameter's value, as the compiler renders it.
public enum AQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// An AQL query compiled to one SQL statement over the node index
/// (docs/architecture.md §AQL), with what it takes to turn each result row
/// into the AQL result columns.
public struct CompiledQuery: Sendable {
    public var sql: String
    public var columns: [OutputColumn]
    /// DISTINCT over whole RM objects is applied after the objects are read,
    /// and so are OFFSET and LIMIT; otherwise SQL does both.
    public var distinctAfterRead: Bool
    public var offset: Int
    public var limit: Int?
    /// How each FROM variable was bound: the explain output's plan.
    public var plan: [String]
}

/// One column of the AQL result set.
public struct OutputColumn: Sendable {
    /// The alias, or `#n` when the column has none.
    public var name: String
    /// The AQL path the column selects, without its variable (`/data[at0001]/…`).
    public var path: String
    public var value: OutputValue
}

/// Where a result column's value comes from in the SQL row.
public enum OutputValue: Sendable {
    /// A constant: literals, CURRENT_DATE and the like.
    case constant(JSON)
    /// A scalar at SQL column `index`.
    case scalar(index: Int, type: ScalarType)
    /// A node of a composition: SQL columns from `start` hold the
    /// composition's object id and version number, the node's number, then
    /// its index columns (rm_type, num_value, str_value, code, terminology,
    /// units, name). `steps` are the attributes below the node. A node that
    /// is absent (a path that matched nothing) reads as null.
    case node(start: Int, steps: [String])
    /// The version envelope of a composition: SQL columns from `start` hold
    /// object id, version number, contribution id, system id, committer,
    /// time committed, change type, description, lifecycle state.
    case version(start: Int, steps: [String])
}

public enum ScalarType: Sendable {
    case text
    case number
    case integer
    case boolean
    /// Microseconds since the epoch, rendered as an ISO 8601 date-time.
    case timestamp
}

/// The SQL columns `OutputValue.node` reads, after the object id, version and number.
public enum NodeColumns {
    public static let names = ["rm_type", "num_value", "str_value", "code", "terminology", "units", "name"]
}
