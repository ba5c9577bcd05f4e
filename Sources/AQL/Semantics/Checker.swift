import OpenEHR

/// A query that parses but cannot be answered: an unknown variable or RM
/// class, a path that cannot exist on the class it starts from, a variable
/// or alias declared twice. Each problem names where it stands.
public struct AQLSemanticError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var position: SourcePosition
        public var message: String
        public var description: String { "line \(position.line), column \(position.column): \(message)" }
    }

    public var problems: [Problem]
    public var description: String { problems.map(\.description).joined(separator: "; ") }
}

/// The semantic stage (parse → check → plan → render): binds every path to
/// the FROM variable it starts from and types it against the RM 1.1.0
/// schema, so that a path that cannot exist is refused before any SQL.
public struct Checker: Sendable {
    public let schema: RMSchema

    public init(schema: RMSchema = .rm110) {
        self.schema = schema
    }

    /// A FROM variable: the RM class it ranges over.
    public struct Variable: Sendable, Equatable {
        public var name: String
        public var rmType: String
    }

    /// The checked query: the syntax tree and its variables.
    public struct CheckedQuery: Sendable, Equatable {
        public var query: Query
        public var variables: [String: Variable]
    }

    /// RM classes of FROM that are not in the RM data schema but are AQL's
    /// own containers, with the attributes a path may take on them.
    static let containerAttributes: [String: [String: String]] = [
        "VERSION": ["uid": "OBJECT_VERSION_ID", "commit_audit": "AUDIT_DETAILS", "contribution": "OBJECT_REF", "lifecycle_state": "DV_CODED_TEXT", "preceding_version_uid": "OBJECT_VERSION_ID", "data": "COMPOSITION"],
        "VERSIONED_OBJECT": ["uid": "HIER_OBJECT_ID", "owner_id": "OBJECT_REF", "time_created": "DV_DATE_TIME"],
        // In AQL, `e/ehr_status` navigates into the EHR_STATUS itself (the RM holds an OBJECT_REF to it).
        "EHR": ["ehr_id": "HIER_OBJECT_ID", "system_id": "HIER_OBJECT_ID", "time_created": "DV_DATE_TIME", "ehr_status": "EHR_STATUS"],
    ]

    public func check(_ query: Query) throws(AQLSemanticError) -> CheckedQuery {
        var problems: [AQLSemanticError.Problem] = []
        var variables: [String: Variable] = [:]
        func declare(_ expression: ContainsExpression) {
            switch expression {
            case .and(let left, let right), .or(let left, let right):
                declare(left)
                declare(right)
            case .class(let classExpression, let contains, _):
                let type = classExpression.rmType
                if Self.containerAttributes[type] == nil && RMTypeHierarchy.concreteTypes(of: type).isEmpty {
                    problems.append(.init(position: classExpression.position, message: "unknown RM class '\(type)' in FROM"))
                }
                if let name = classExpression.variable {
                    if variables[name] != nil {
                        problems.append(.init(position: classExpression.position, message: "variable '\(name)' is declared twice in FROM"))
                    }
                    variables[name] = Variable(name: name, rmType: type)
                }
                if let contains { declare(contains) }
            }
        }
        declare(query.from)

        var aliases: Set<String> = []
        for column in query.select.columns {
            if let alias = column.alias, !aliases.insert(alias).inserted {
                problems.append(.init(position: SourcePosition(), message: "alias '\(alias)' is used twice in SELECT"))
            }
            switch column.expression {
            case .path(let path): problems += check(path, variables)
            case .aggregate(let aggregate): if let path = aggregate.path { problems += check(path, variables) }
            case .function(let call): problems += call.arguments.flatMap { check($0, variables) }
            case .literal: break
            }
        }
        if let condition = query.condition { problems += check(condition, variables) }
        for item in query.orderBy {
            // ORDER BY may name a SELECT alias (AQL 1.1 §ORDER BY).
            if variables[item.path.variable] == nil, item.path.path == nil, item.path.predicate == nil {
                if !aliases.contains(item.path.variable) {
                    problems.append(.init(position: item.path.position, message: "unknown variable or alias '\(item.path.variable)' in ORDER BY"))
                }
                continue
            }
            problems += check(item.path, variables)
        }
        if !problems.isEmpty { throw AQLSemanticError(problems: problems) }
        return CheckedQuery(query: query, variables: variables)
    }

    func check(_ condition: Condition, _ variables: [String: Variable]) -> [AQLSemanticError.Problem] {
        switch condition {
        case .not(let inner): check(inner, variables)
        case .and(let a, let b), .or(let a, let b): check(a, variables) + check(b, variables)
        case .exists(let path): check(path, variables)
        case .comparison(let a, _, let b): check(a, variables) + check(b, variables)
        case .like(let path, let pattern): check(path, variables) + check(pattern, variables)
        case .matches(let path, .values(let values)): check(path, variables) + values.flatMap { check($0, variables) }
        case .matches(let path, .terminology): check(path, variables)
        }
    }

    func check(_ terminal: Terminal, _ variables: [String: Variable]) -> [AQLSemanticError.Problem] {
        switch terminal {
        case .path(let path): check(path, variables)
        case .function(let call): call.arguments.flatMap { check($0, variables) }
        case .literal, .parameter: []
        }
    }

    /// Walks the path through the RM: every attribute must exist on one of
    /// the types the previous step can be.
    func check(_ path: IdentifiedPath, _ variables: [String: Variable]) -> [AQLSemanticError.Problem] {
        guard let variable = variables[path.variable] else {
            return [.init(position: path.position, message: "unknown variable '\(path.variable)': declare it in FROM")]
        }
        guard let parts = path.path?.parts else { return [] }
        var types = containerTypes(variable.rmType)
        var walked = path.variable
        for part in parts {
            if types.isEmpty {
                return [.init(position: path.position, message: "'\(walked)' is a primitive value: it has no attribute '\(part.attribute)'")]
            }
            var next: Set<String> = []
            var found = false
            var primitive = false
            for type in types {
                if let attribute = Self.containerAttributes[type]?[part.attribute] {
                    found = true
                    next.formUnion(containerTypes(attribute))
                } else if let attribute = schema[type]?.attributes[part.attribute] {
                    found = true
                    if attribute.primitive != nil && attribute.primitive != .object { primitive = true }
                    for candidate in attribute.types { next.formUnion(RMTypeHierarchy.concreteTypes(of: candidate)) }
                    if attribute.primitive == .object { next.formUnion(RMTypeHierarchy.dataValues) }
                }
            }
            guard found else {
                let names = types.sorted().prefix(4).joined(separator: ", ")
                return [.init(position: path.position, message: "'\(walked)/\(part.attribute)' cannot exist: no attribute '\(part.attribute)' on \(names)\(types.count > 4 ? ", …" : "")")]
            }
            walked += "/" + part.attribute
            types = primitive && next.isEmpty ? [] : next
        }
        return []
    }

    func containerTypes(_ type: String) -> Set<String> {
        Self.containerAttributes[type] != nil ? [type] : RMTypeHierarchy.concreteTypes(of: type)
    }
}
