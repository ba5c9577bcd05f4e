/// A token of AQL (specifications-QUERY AQL 1.1, grammar AqlLexer.g4) with
/// where it starts, for error messages.
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case keyword(Keyword)
        case identifier(String)
        /// `$name`.
        case parameter(String)
        case string(String)
        case integer(String)
        case real(String)
        /// An archetype id, `openEHR-EHR-OBSERVATION.blood_pressure.v2`.
        case archetypeID(String)
        /// `at0001`, `at0001.1`, `id3`.
        case nodeCode(String)
        /// `terminology::code`, `ICD10::A00`.
        case termCode(String)
        /// `=`, `!=`, `<>`, `>`, `>=`, `<`, `<=`.
        case comparison(ComparisonOperator)
        case symbol(Character)
        case end
    }

    public var kind: Kind
    public var line: Int
    public var column: Int
    /// The token as written (keywords keep their case, so that a keyword can
    /// also serve as an attribute name in a path: `/data/events/time`).
    public var text: String = ""

    /// How an error message names the token.
    public var display: String {
        switch kind {
        case .keyword(let keyword): keyword.rawValue
        case .identifier(let name): "'\(name)'"
        case .parameter(let name): "$\(name)"
        case .string(let text): "'\(text)'"
        case .integer(let text), .real(let text): text
        case .archetypeID(let id): id
        case .nodeCode(let code), .termCode(let code): code
        case .comparison(let op): op.rawValue
        case .symbol(let character): "'\(character)'"
        case .end: "the end of the query"
        }
    }
}

public enum Keyword: String, Sendable, CaseIterable {
    case select = "SELECT", from = "FROM", `where` = "WHERE", order = "ORDER", by = "BY", limit = "LIMIT", offset = "OFFSET"
    case `as` = "AS", distinct = "DISTINCT", top = "TOP", forward = "FORWARD", backward = "BACKWARD"
    case contains = "CONTAINS", and = "AND", or = "OR", not = "NOT", exists = "EXISTS", like = "LIKE", matches = "MATCHES"
    case version = "VERSION", latestVersion = "LATEST_VERSION", allVersions = "ALL_VERSIONS"
    case desc = "DESC", descending = "DESCENDING", asc = "ASC", ascending = "ASCENDING"
    case count = "COUNT", min = "MIN", max = "MAX", sum = "SUM", avg = "AVG", terminology = "TERMINOLOGY"
    case `true` = "TRUE", `false` = "FALSE", null = "NULL"
}

public enum ComparisonOperator: String, Sendable, Equatable {
    case equal = "=", notEqual = "!=", greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<="

    /// The operator with its operands swapped (`a < b` is `b > a`).
    public var mirrored: ComparisonOperator {
        switch self {
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .equal, .notEqual: self
        }
    }
}

/// A query that is not AQL: where (line and column, from 1), what was
/// found and what was expected there.
public struct AQLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var found: String
    public var expected: String
    /// Set when the query is refused for its size, not its syntax: which
    /// limit (`AQLLimits`) and by how much.
    public var limit: String?

    public init(line: Int, column: Int, found: String, expected: String, limit: String? = nil) {
        self.line = line
        self.column = column
        self.found = found
        self.expected = expected
        self.limit = limit
    }

    public var description: String {
        limit.map { "line \(line), column \(column): \($0)" } ?? "line \(line), column \(column): found \(found), expected \(expected)"
    }
}

/// What a query may be, at most: past these the compiled SQL would exceed
/// what SQLite's parser takes (its stack of 100 entries overflowed at 45
/// nested `NOT (…)` and at 30 alternating AND/OR levels; a flat run of ORs at
/// 1,000 reaches its expression depth of 1,000), PostgreSQL's stack, or the
/// 32,766 bound values SQLite accepts; and the parser itself, which
/// recurses, would run out of stack on a query nested thousands deep.
/// Measured on both engines (QueryServiceTests §Limits, docs/architecture.md §AQL).
public enum AQLLimits {
    /// Characters of query text.
    public static let maximumLength = 100_000
    /// Levels of nesting: parentheses, NOT, CONTAINS, function calls.
    public static let maximumDepth = 20
    /// Conditions (comparisons, LIKE, MATCHES, EXISTS) in WHERE.
    public static let maximumConditions = 500
    /// Values (literals and parameters) in the whole query.
    public static let maximumValues = 10_000
}
