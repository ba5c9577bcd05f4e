import JSONCore

// The query's parts as written: what result columns, explain output and error messages show.

extension IdentifiedPath {
    /// The path as written, without its variable: `/data[at0001]/…`.
    var text: String {
        (predicate.map { "[\($0.text)]" } ?? "") + (path.map { "/" + $0.parts.map(\.text).joined(separator: "/") } ?? "")
    }

    /// The path with its variable: what identifies a joined target.
    var key: String { variable + text }
}

extension ColumnExpression {
    /// The column as written in the query, with its variable
    /// (`c/context/start_time/value`, `COUNT(e/ehr_id/value)`): a result
    /// column's `path`, and its `name` when it has no alias.
    var text: String {
        switch self {
        case .path(let path): path.key
        case .literal(let literal): literal.text
        case .aggregate(let aggregate): aggregate.text
        case .function(let call): call.text
        }
    }
}

extension PathPart {
    var text: String { attribute + (predicate.map { "[\($0.text)]" } ?? "") }
}

extension Predicate {
    var text: String {
        switch self {
        case .archetype(let id): id
        case .node(let id, let name): id + (name.map { ", " + $0.text } ?? "")
        case .parameter(let name): "$" + name
        case .comparison(let path, let op, let value): path.parts.map(\.text).joined(separator: "/") + op.rawValue + value.text
        case .and(let a, let b): a.text + " and " + b.text
        case .or(let a, let b): a.text + " or " + b.text
        }
    }
}

extension PredicateValue {
    var text: String {
        switch self {
        case .literal(let literal): literal.text
        case .parameter(let name): "$" + name
        case .code(let code): code
        case .path(let path): path.parts.map(\.text).joined(separator: "/")
        }
    }
}

extension Literal {
    var text: String {
        switch self {
        case .string(let text): "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        case .integer(let value): String(value)
        case .real(let text): text
        case .boolean(let flag): flag ? "true" : "false"
        case .null: "NULL"
        }
    }

    var json: JSON {
        switch self {
        case .string(let text): .string(text)
        case .integer(let value): .number(String(value))
        case .real(let text): .number(text)
        case .boolean(let flag): .bool(flag)
        case .null: .null
        }
    }
}

extension Aggregate {
    var text: String {
        "\(function.rawValue)(\(distinct ? "DISTINCT " : "")\(path.map { $0.variable + $0.text } ?? "*"))"
    }
}

extension FunctionCall {
    var text: String {
        "\(name)(" + arguments.map(\.text).joined(separator: ", ") + ")"
    }
}

extension Terminal {
    var text: String {
        switch self {
        case .literal(let literal): literal.text
        case .parameter(let name): "$" + name
        case .path(let path): path.variable + path.text
        case .function(let call): call.text
        }
    }

    var paths: [IdentifiedPath] {
        switch self {
        case .path(let path): [path]
        case .function(let call): call.arguments.flatMap(\.paths)
        case .literal, .parameter: []
        }
    }
}

extension Condition {
    var paths: [IdentifiedPath] {
        switch self {
        case .not(let inner): inner.paths
        case .and(let a, let b), .or(let a, let b): a.paths + b.paths
        case .exists(let path): [path]
        case .comparison(let a, _, let b): a.paths + b.paths
        case .like(let path, let pattern): [path] + pattern.paths
        case .matches(let path, .values(let values)): [path] + values.flatMap(\.paths)
        case .matches(let path, .terminology): [path]
        }
    }
}

extension Condition {
    /// A comparison, LIKE or MATCHES: what a top-level conjunct joins.
    var isAtomic: Bool {
        switch self {
        case .comparison, .like, .matches: true
        case .and, .or, .not, .exists: false
        }
    }
}

extension Terminal {
    var position: SourcePosition? {
        switch self {
        case .path(let path): path.position
        case .function(let call): call.position
        case .literal, .parameter: nil
        }
    }
}
