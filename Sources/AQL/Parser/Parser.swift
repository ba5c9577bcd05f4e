/// Recursive-descent parser for AQL 1.1 (grammar AqlParser.g4). The first
/// error stops it, with its line, column, what was found and what was
/// expected there.
public struct Parser {
    var tokens: [Token]
    var position = 0
    /// Nesting levels open now, and conditions read so far (`AQLLimits`).
    var depth = 0
    var conditions = 0

    public static func parse(_ text: String) throws(AQLSyntaxError) -> Query {
        let length = text.count
        guard length <= AQLLimits.maximumLength else {
            throw AQLSyntaxError(
                line: 1, column: 1, found: "", expected: "",
                limit: "the query is \(length) characters long, over the limit of \(AQLLimits.maximumLength)")
        }
        var parser = Parser(tokens: try Lexer.tokens(text))
        try parser.checkValueCount()
        return try parser.query()
    }

    /// At most `AQLLimits.maximumValues` literals and parameters, each a bound value of the SQL.
    func checkValueCount() throws(AQLSyntaxError) {
        var count = 0
        for token in tokens {
            switch token.kind {
            case .string, .integer, .real, .parameter: count += 1
            default: continue
            }
            if count > AQLLimits.maximumValues {
                throw Self.limit("the query has more than \(AQLLimits.maximumValues) values (literals and parameters), the limit", at: token)
            }
        }
    }

    /// Opens a nesting level; past `AQLLimits.maximumDepth` the query is refused
    /// here, before the parser's own recursion or the SQL's nesting can overflow.
    mutating func enter() throws(AQLSyntaxError) {
        depth += 1
        if depth > AQLLimits.maximumDepth {
            throw Self.limit("the query is nested more than \(AQLLimits.maximumDepth) levels deep (parentheses, NOT, CONTAINS, functions), the limit", at: current)
        }
    }

    /// Counts a condition; past `AQLLimits.maximumConditions` the query is refused.
    mutating func countCondition() throws(AQLSyntaxError) {
        conditions += 1
        if conditions > AQLLimits.maximumConditions {
            throw Self.limit("the query has more than \(AQLLimits.maximumConditions) conditions, the limit", at: current)
        }
    }

    /// A refusal for size (`AQLSyntaxError.limit`) at a token.
    static func limit(_ message: String, at token: Token) -> AQLSyntaxError {
        AQLSyntaxError(line: token.line, column: token.column, found: "", expected: "", limit: message)
    }

    var current: Token { tokens[position] }
    func peek(_ offset: Int = 1) -> Token { tokens[min(position + offset, tokens.count - 1)] }

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    func fail(_ expected: String) -> AQLSyntaxError {
        AQLSyntaxError(line: current.line, column: current.column, found: current.display, expected: expected)
    }

    func isKeyword(_ keyword: Keyword) -> Bool { current.kind == .keyword(keyword) }
    func isSymbol(_ symbol: Character) -> Bool { current.kind == .symbol(symbol) }

    mutating func accept(_ keyword: Keyword) -> Bool {
        guard isKeyword(keyword) else { return false }
        advance()
        return true
    }

    mutating func accept(_ symbol: Character) -> Bool {
        guard isSymbol(symbol) else { return false }
        advance()
        return true
    }

    mutating func expect(_ keyword: Keyword) throws(AQLSyntaxError) {
        guard accept(keyword) else { throw fail(keyword.rawValue) }
    }

    mutating func expect(_ symbol: Character) throws(AQLSyntaxError) {
        guard accept(symbol) else { throw fail("'\(symbol)'") }
    }

    // MARK: Query

    mutating func query() throws(AQLSyntaxError) -> Query {
        let select = try selectClause()
        try expect(.from)
        let from = try containsOr()
        var condition: Condition?
        if accept(.where) { condition = try conditionOr() }
        var orderBy: [OrderItem] = []
        if accept(.order) {
            try expect(.by)
            repeat { orderBy.append(try orderItem()) } while accept(",")
        }
        var limit: Int?, offset: Int?
        if accept(.limit) {
            limit = try integer("a row count after LIMIT")
            if accept(.offset) { offset = try integer("a row count after OFFSET") }
        }
        guard current.kind == .end else {
            throw fail(limit == nil ? (orderBy.isEmpty ? (condition == nil ? "WHERE, ORDER BY, LIMIT or the end of the query" : "AND, OR, ORDER BY, LIMIT or the end of the query") : "',', LIMIT or the end of the query") : "the end of the query")
        }
        return Query(select: select, from: from, condition: condition, orderBy: orderBy, limit: limit, offset: offset)
    }

    mutating func integer(_ expected: String) throws(AQLSyntaxError) -> Int {
        guard case .integer(let text) = current.kind, let value = Int(text) else { throw fail(expected) }
        advance()
        return value
    }

    mutating func selectClause() throws(AQLSyntaxError) -> SelectClause {
        try expect(.select)
        let distinct = accept(.distinct)
        var top: Int?
        if accept(.top) {
            top = try integer("a row count after TOP")
            _ = accept(.forward) || accept(.backward)
        }
        var columns: [Column] = []
        repeat {
            let expression = try columnExpression()
            var alias: String?
            if accept(.as) {
                guard case .identifier(let name) = current.kind else { throw fail("an alias name after AS") }
                alias = name
                advance()
            }
            columns.append(Column(expression: expression, alias: alias))
        } while accept(",")
        return SelectClause(distinct: distinct, top: top, columns: columns)
    }

    mutating func columnExpression() throws(AQLSyntaxError) -> ColumnExpression {
        if case .keyword(let keyword) = current.kind, let function = Aggregate.Function(rawValue: keyword.rawValue) {
            advance()
            try expect("(")
            if function == .count, accept("*") {
                try expect(")")
                return .aggregate(Aggregate(function: .count, distinct: false, path: nil))
            }
            let distinct = function == .count && accept(.distinct)
            let path = try identifiedPath()
            try expect(")")
            return .aggregate(Aggregate(function: function, distinct: distinct, path: path))
        }
        switch try terminal(expected: "a path, a value, an aggregate or a function in SELECT") {
        case .path(let path): return .path(path)
        case .literal(let literal): return .literal(literal)
        case .function(let call): return .function(call)
        case .parameter: throw AQLSyntaxError(line: tokens[position - 1].line, column: tokens[position - 1].column, found: tokens[position - 1].display, expected: "a path, a value, an aggregate or a function in SELECT")
        }
    }

    mutating func orderItem() throws(AQLSyntaxError) -> OrderItem {
        let path = try identifiedPath()
        var descending = false
        if accept(.desc) || accept(.descending) { descending = true } else { _ = accept(.asc) || accept(.ascending) }
        return OrderItem(path: path, descending: descending)
    }

    // MARK: FROM

    mutating func containsOr() throws(AQLSyntaxError) -> ContainsExpression {
        var left = try containsAnd()
        while accept(.or) { left = .or(left, try containsAnd()) }
        return left
    }

    mutating func containsAnd() throws(AQLSyntaxError) -> ContainsExpression {
        var left = try containsPrimary()
        while accept(.and) { left = .and(left, try containsPrimary()) }
        return left
    }

    mutating func containsPrimary() throws(AQLSyntaxError) -> ContainsExpression {
        try enter()
        defer { depth -= 1 }
        if accept("(") {
            let inner = try containsOr()
            try expect(")")
            return inner
        }
        let expression = try classExpression()
        let negated = accept(.not)
        // As in AqlParser.g4, CONTAINS binds tighter than AND and OR:
        // `a CONTAINS b AND c` is `(a CONTAINS b) AND c`.
        if accept(.contains) { return .class(expression, contains: try containsPrimary(), negated: negated) }
        if negated { throw fail("CONTAINS after NOT") }
        return .class(expression, contains: nil, negated: false)
    }

    mutating func classExpression() throws(AQLSyntaxError) -> ClassExpression {
        let position = SourcePosition(line: current.line, column: current.column)
        if accept(.version) {
            var variable: String?
            if case .identifier(let name) = current.kind { variable = name; advance() }
            var versionPredicate: VersionPredicate?
            if accept("[") {
                if accept(.latestVersion) { versionPredicate = .latest } else if accept(.allVersions) { versionPredicate = .all } else {
                    let path = try objectPath()
                    guard case .comparison(let op) = current.kind else { throw fail("a comparison operator") }
                    advance()
                    versionPredicate = .standard(path, op, try predicateValue())
                }
                try expect("]")
            }
            return ClassExpression(rmType: "VERSION", variable: variable, predicate: nil, versionPredicate: versionPredicate, position: position)
        }
        guard case .identifier(let type) = current.kind else { throw fail("an RM class name (EHR, COMPOSITION, OBSERVATION …)") }
        advance()
        var variable: String?
        if case .identifier(let name) = current.kind { variable = name; advance() }
        var predicate: Predicate?
        if isSymbol("[") {
            predicate = try pathPredicate()
            if case .node(let id, nil)? = predicate, Lexer.isArchetypeID(id) { predicate = .archetype(id) }
        }
        return ClassExpression(rmType: type.uppercased(), variable: variable, predicate: predicate, versionPredicate: nil, position: position)
    }

    // MARK: Paths and predicates

    mutating func identifiedPath() throws(AQLSyntaxError) -> IdentifiedPath {
        let position = SourcePosition(line: current.line, column: current.column)
        guard case .identifier(let variable) = current.kind else { throw fail("a variable declared in FROM") }
        advance()
        var predicate: Predicate?
        if isSymbol("[") { predicate = try pathPredicate() }
        var path: ObjectPath?
        if accept("/") { path = try objectPath() }
        return IdentifiedPath(variable: variable, predicate: predicate, path: path, position: position)
    }

    mutating func objectPath() throws(AQLSyntaxError) -> ObjectPath {
        var parts: [PathPart] = []
        repeat {
            let attribute: String
            switch current.kind {
            case .identifier(let name): attribute = name
            case .keyword: attribute = current.text
            default: throw fail("an attribute name in the path")
            }
            advance()
            var predicate: Predicate?
            if isSymbol("[") { predicate = try pathPredicate() }
            parts.append(PathPart(attribute: attribute, predicate: predicate))
        } while accept("/")
        return ObjectPath(parts: parts)
    }

    mutating func pathPredicate() throws(AQLSyntaxError) -> Predicate {
        try expect("[")
        let predicate = try predicateOr()
        try expect("]")
        return predicate
    }

    mutating func predicateOr() throws(AQLSyntaxError) -> Predicate {
        var left = try predicateAnd()
        while accept(.or) { left = .or(left, try predicateAnd()) }
        return left
    }

    mutating func predicateAnd() throws(AQLSyntaxError) -> Predicate {
        var left = try predicatePrimary()
        while accept(.and) { left = .and(left, try predicatePrimary()) }
        return left
    }

    mutating func predicatePrimary() throws(AQLSyntaxError) -> Predicate {
        switch current.kind {
        case .nodeCode(let code), .archetypeID(let code):
            advance()
            var name: PredicateValue?
            if accept(",") {
                switch current.kind {
                case .string(let text): name = .literal(.string(text))
                case .parameter(let parameter): name = .parameter(parameter)
                case .termCode(let code), .nodeCode(let code): name = .code(code)
                default: throw fail("a name (a string, a parameter or a code) after ','")
                }
                advance()
            }
            return .node(code, name: name)
        case .parameter(let name):
            advance()
            return .parameter(name)
        case .identifier, .keyword:
            let path = try objectPath()
            guard case .comparison(let op) = current.kind else { throw fail("a comparison operator in the predicate") }
            advance()
            return .comparison(path, op, try predicateValue())
        default:
            throw fail("an archetype id, a node id (at0001), a parameter or a path comparison in the predicate")
        }
    }

    mutating func predicateValue() throws(AQLSyntaxError) -> PredicateValue {
        switch current.kind {
        case .parameter(let name): advance(); return .parameter(name)
        case .nodeCode(let code), .termCode(let code): advance(); return .code(code)
        case .identifier: return .path(try objectPath())
        default:
            guard let literal = try literalIfAny() else { throw fail("a value, a parameter or a path") }
            return .literal(literal)
        }
    }

    // MARK: WHERE

    mutating func conditionOr() throws(AQLSyntaxError) -> Condition {
        var left = try conditionAnd()
        while accept(.or) { left = .or(left, try conditionAnd()) }
        return left
    }

    mutating func conditionAnd() throws(AQLSyntaxError) -> Condition {
        var left = try conditionPrimary()
        while accept(.and) { left = .and(left, try conditionPrimary()) }
        return left
    }

    mutating func conditionPrimary() throws(AQLSyntaxError) -> Condition {
        if isKeyword(.not) || isSymbol("(") {
            try enter()
            defer { depth -= 1 }
            if accept(.not) { return .not(try conditionPrimary()) }
            advance()
            let inner = try conditionOr()
            try expect(")")
            return inner
        }
        try countCondition()
        if accept(.exists) { return .exists(try identifiedPath()) }
        let left = try terminal(expected: "a condition: a path, a function, EXISTS, NOT or '('")
        switch current.kind {
        case .comparison(let op):
            advance()
            return .comparison(left, op, try terminal(expected: "a value, a parameter, a path or a function after \(op.rawValue)"))
        case .keyword(.like):
            guard case .path(let path) = left else { throw fail("a path before LIKE") }
            advance()
            switch current.kind {
            case .string(let text): advance(); return .like(path, .literal(.string(text)))
            case .parameter(let name): advance(); return .like(path, .parameter(name))
            default: throw fail("a string pattern or a parameter after LIKE")
            }
        case .keyword(.matches):
            guard case .path(let path) = left else { throw fail("a path before MATCHES") }
            advance()
            return .matches(path, try matchesOperand())
        default:
            throw fail("a comparison operator, LIKE or MATCHES")
        }
    }

    mutating func matchesOperand() throws(AQLSyntaxError) -> MatchesOperand {
        if isKeyword(.terminology) {
            guard case .function(let call) = try terminal(expected: "TERMINOLOGY(…)") else { throw fail("TERMINOLOGY(…)") }
            return .terminology(call)
        }
        try expect("{")
        var values: [Terminal] = []
        repeat { values.append(try terminal(expected: "a value in the MATCHES list")) } while accept(",")
        try expect("}")
        return .values(values)
    }

    // MARK: Terminals

    mutating func terminal(expected: String) throws(AQLSyntaxError) -> Terminal {
        switch current.kind {
        case .parameter(let name):
            advance()
            return .parameter(name)
        case .identifier(let name) where peek().kind == .symbol("("):
            return .function(try functionCall(name: name.uppercased()))
        case .keyword(.terminology), .keyword(.contains):
            guard peek().kind == .symbol("(") else { throw fail(expected) }
            return .function(try functionCall(name: current.text.uppercased()))
        case .identifier:
            return .path(try identifiedPath())
        default:
            guard let literal = try literalIfAny() else { throw fail(expected) }
            return .literal(literal)
        }
    }

    mutating func functionCall(name: String) throws(AQLSyntaxError) -> FunctionCall {
        try enter()
        defer { depth -= 1 }
        let start = current
        advance()
        try expect("(")
        var arguments: [Terminal] = []
        if !isSymbol(")") {
            repeat { arguments.append(try terminal(expected: "an argument of \(name)")) } while accept(",")
        }
        try expect(")")
        if name == "TERMINOLOGY" {
            guard arguments.count == 3, arguments.allSatisfy({ if case .literal(.string) = $0 { true } else { false } }) else {
                throw AQLSyntaxError(line: start.line, column: start.column, found: "TERMINOLOGY with \(arguments.count) argument(s)", expected: "TERMINOLOGY(operation, service_api, params) with three strings")
            }
        }
        return FunctionCall(name: name, arguments: arguments, position: SourcePosition(line: start.line, column: start.column))
    }

    mutating func literalIfAny() throws(AQLSyntaxError) -> Literal? {
        switch current.kind {
        case .string(let text): advance(); return .string(text)
        case .integer(let text):
            guard let value = Int64(text) else { throw fail("an integer that fits in 64 bits") }
            advance()
            return .integer(value)
        case .real(let text): advance(); return .real(text)
        case .keyword(.true): advance(); return .boolean(true)
        case .keyword(.false): advance(); return .boolean(false)
        case .keyword(.null): advance(); return .null
        case .symbol("-"):
            advance()
            switch current.kind {
            case .integer(let text):
                guard let value = Int64("-" + text) else { throw fail("an integer that fits in 64 bits") }
                advance()
                return .integer(value)
            case .real(let text): advance(); return .real("-" + text)
            default: throw fail("a number after '-'")
            }
        default: return nil
        }
    }
}
