/// The syntax tree of an AQL query (AQL 1.1 §3, grammar AqlParser.g4).
public struct Query: Sendable, Equatable {
    public var select: SelectClause
    public var from: ContainsExpression
    public var condition: Condition?
    public var orderBy: [OrderItem]
    public var limit: Int?
    public var offset: Int?
}

public struct SelectClause: Sendable, Equatable {
    public var distinct: Bool
    /// `TOP n` (deprecated in AQL 1.1, still parsed).
    public var top: Int?
    public var columns: [Column]
}

public struct Column: Sendable, Equatable {
    public var expression: ColumnExpression
    public var alias: String?
}

public indirect enum ColumnExpression: Sendable, Equatable {
    case path(IdentifiedPath)
    case literal(Literal)
    case aggregate(Aggregate)
    case function(FunctionCall)
}

public struct Aggregate: Sendable, Equatable {
    public enum Function: String, Sendable { case count = "COUNT", min = "MIN", max = "MAX", sum = "SUM", avg = "AVG" }
    public var function: Function
    public var distinct: Bool
    /// nil for `COUNT(*)`.
    public var path: IdentifiedPath?

    public init(function: Function, distinct: Bool, path: IdentifiedPath?) {
        self.function = function
        self.distinct = distinct
        self.path = path
    }
}

public struct FunctionCall: Sendable, Equatable {
    /// Upper-cased function name (`LENGTH`, `CONCAT`, `TERMINOLOGY` …).
    public var name: String
    public var arguments: [Terminal]
    /// Where the call starts (not part of equality).
    public var position: SourcePosition

    public init(name: String, arguments: [Terminal], position: SourcePosition = SourcePosition()) {
        self.name = name
        self.arguments = arguments
        self.position = position
    }

    public static func == (lhs: FunctionCall, rhs: FunctionCall) -> Bool {
        lhs.name == rhs.name && lhs.arguments == rhs.arguments
    }
}

/// `variable[predicate]/path` (AQL §3.4 identified path).
public struct IdentifiedPath: Sendable, Equatable {
    public var variable: String
    public var predicate: Predicate?
    public var path: ObjectPath?
    /// Where the path starts in the query (not part of equality).
    public var position: SourcePosition

    public init(variable: String, predicate: Predicate? = nil, path: ObjectPath? = nil, position: SourcePosition = SourcePosition()) {
        self.variable = variable
        self.predicate = predicate
        self.path = path
        self.position = position
    }

    public static func == (lhs: IdentifiedPath, rhs: IdentifiedPath) -> Bool {
        lhs.variable == rhs.variable && lhs.predicate == rhs.predicate && lhs.path == rhs.path
    }
}

/// A line and column in the query text, from 1.
public struct SourcePosition: Sendable, Equatable {
    public var line: Int
    public var column: Int

    public init(line: Int = 0, column: Int = 0) {
        self.line = line
        self.column = column
    }
}

public struct ObjectPath: Sendable, Equatable {
    public var parts: [PathPart]

    public init(parts: [PathPart]) { self.parts = parts }
}

public struct PathPart: Sendable, Equatable {
    public var attribute: String
    public var predicate: Predicate?

    public init(attribute: String, predicate: Predicate? = nil) {
        self.attribute = attribute
        self.predicate = predicate
    }
}

/// Predicates (AQL §3.5): archetype, node, standard.
public indirect enum Predicate: Sendable, Equatable {
    case archetype(String)
    /// `[at0001]`, `[at0001, 'name']`, `[openEHR-EHR-…, $name]`.
    case node(String, name: PredicateValue?)
    case parameter(String)
    case comparison(ObjectPath, ComparisonOperator, PredicateValue)
    case and(Predicate, Predicate)
    case or(Predicate, Predicate)
}

public enum PredicateValue: Sendable, Equatable {
    case literal(Literal)
    case parameter(String)
    case code(String)
    case path(ObjectPath)
}

/// The FROM clause: class expressions related by CONTAINS (AQL §3.6).
public indirect enum ContainsExpression: Sendable, Equatable {
    case `class`(ClassExpression, contains: ContainsExpression?, negated: Bool)
    case and(ContainsExpression, ContainsExpression)
    case or(ContainsExpression, ContainsExpression)
}

public struct ClassExpression: Sendable, Equatable {
    /// `EHR`, `COMPOSITION`, `OBSERVATION`, `VERSION` …
    public var rmType: String
    public var variable: String?
    public var predicate: Predicate?
    public var versionPredicate: VersionPredicate?
    /// Where the class expression starts (not part of equality).
    public var position: SourcePosition

    public init(
        rmType: String, variable: String?, predicate: Predicate? = nil, versionPredicate: VersionPredicate? = nil,
        position: SourcePosition = SourcePosition()
    ) {
        self.rmType = rmType
        self.variable = variable
        self.predicate = predicate
        self.versionPredicate = versionPredicate
        self.position = position
    }

    public static func == (lhs: ClassExpression, rhs: ClassExpression) -> Bool {
        lhs.rmType == rhs.rmType && lhs.variable == rhs.variable && lhs.predicate == rhs.predicate && lhs.versionPredicate == rhs.versionPredicate
    }
}

public enum VersionPredicate: Sendable, Equatable {
    case latest
    case all
    case standard(ObjectPath, ComparisonOperator, PredicateValue)
}

/// The WHERE clause (AQL §3.7).
public indirect enum Condition: Sendable, Equatable {
    case not(Condition)
    case and(Condition, Condition)
    case or(Condition, Condition)
    case exists(IdentifiedPath)
    case comparison(Terminal, ComparisonOperator, Terminal)
    case like(IdentifiedPath, Terminal)
    case matches(IdentifiedPath, MatchesOperand)
}

public enum MatchesOperand: Sendable, Equatable {
    case values([Terminal])
    case terminology(FunctionCall)
}

public indirect enum Terminal: Sendable, Equatable {
    case literal(Literal)
    case parameter(String)
    case path(IdentifiedPath)
    case function(FunctionCall)
}

public enum Literal: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    /// Kept as written.
    case real(String)
    case boolean(Bool)
    case null
}

public struct OrderItem: Sendable, Equatable {
    public var path: IdentifiedPath
    public var descending: Bool
}
