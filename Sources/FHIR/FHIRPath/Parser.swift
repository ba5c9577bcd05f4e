/// Parses FHIRPath into a syntax tree, by the precedence of FHIRPath 2.0
/// §Operator precedence (from loosest: implies; or xor; and; in contains;
/// = ~ != !~; < > <= >=; |; is as; + - &; * / div mod; unary; . and []).
public struct FHIRPathParser {
    var tokens: [FHIRPathToken]
    var position = 0
    /// Nesting of parentheses, brackets and calls, bounded so that a
    /// hostile expression cannot exhaust the stack.
    var depth = 0
    static let maximumDepth = 200

    public static func parse(_ source: String) throws(FHIRPathError) -> FHIRPathExpression {
        var parser = FHIRPathParser(tokens: try FHIRPathLexer.tokens(source))
        let expression = try parser.expression()
        guard parser.current.kind == .end else {
            throw FHIRPathError(.syntax, "unexpected '\(parser.current.text)'", position: parser.current.position)
        }
        return expression
    }

    var current: FHIRPathToken { tokens[position] }

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    func isKeyword(_ word: String) -> Bool { current.kind == .identifier && current.text == word }
    func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol && current.text == symbol }

    mutating func expect(_ symbol: String) throws(FHIRPathError) {
        guard isSymbol(symbol) else {
            throw FHIRPathError(.syntax, "'\(symbol)' expected, found '\(current.text.isEmpty ? "end" : current.text)'", position: current.position)
        }
        advance()
    }

    mutating func expression() throws(FHIRPathError) -> FHIRPathExpression {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else {
            throw FHIRPathError(.syntax, "the expression nests deeper than \(Self.maximumDepth) levels", position: current.position)
        }
        return try binary(level: 0)
    }

    static let levels: [[String]] = [
        ["implies"], ["or", "xor"], ["and"], ["in", "contains"], ["=", "~", "!=", "!~"], ["<", ">", "<=", ">="], ["|"],
    ]

    mutating func binary(level: Int) throws(FHIRPathError) -> FHIRPathExpression {
        if level == Self.levels.count { return try typeExpression() }
        var left = try binary(level: level + 1)
        while (current.kind == .symbol || current.kind == .identifier) && Self.levels[level].contains(current.text) {
            let op = current.text
            advance()
            let right = try binary(level: level + 1)
            left = .binary(op, left, right)
        }
        return left
    }

    mutating func typeExpression() throws(FHIRPathError) -> FHIRPathExpression {
        var left = try additive()
        while isKeyword("is") || isKeyword("as") {
            let op = current.text
            advance()
            left = .typeOperation(op, left, try typeSpecifier())
        }
        return left
    }

    mutating func typeSpecifier() throws(FHIRPathError) -> TypeSpecifier {
        guard current.kind == .identifier || current.kind == .delimitedIdentifier else {
            throw FHIRPathError(.syntax, "a type name expected", position: current.position)
        }
        var name = current.text
        advance()
        var namespace: String?
        if isSymbol("."), tokens[position + 1].kind == .identifier || tokens[position + 1].kind == .delimitedIdentifier {
            advance()
            namespace = name
            name = current.text
            advance()
        }
        return TypeSpecifier(namespace: namespace, name: name)
    }

    mutating func additive() throws(FHIRPathError) -> FHIRPathExpression {
        var left = try multiplicative()
        while isSymbol("+") || isSymbol("-") || isSymbol("&") {
            let op = current.text
            advance()
            left = .binary(op, left, try multiplicative())
        }
        return left
    }

    mutating func multiplicative() throws(FHIRPathError) -> FHIRPathExpression {
        var left = try unary()
        while isSymbol("*") || isSymbol("/") || isKeyword("div") || isKeyword("mod") {
            let op = current.text
            advance()
            left = .binary(op, left, try unary())
        }
        return left
    }

    mutating func unary() throws(FHIRPathError) -> FHIRPathExpression {
        if isSymbol("+") || isSymbol("-") {
            let op = current.text
            advance()
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maximumDepth else {
                throw FHIRPathError(.syntax, "the expression nests deeper than \(Self.maximumDepth) levels", position: current.position)
            }
            return .unary(op, try unary())
        }
        return try postfix()
    }

    mutating func postfix() throws(FHIRPathError) -> FHIRPathExpression {
        var expression = try term()
        while true {
            if isSymbol(".") {
                advance()
                expression = try invocation(on: expression)
            } else if isSymbol("[") {
                advance()
                let index = try self.expression()
                try expect("]")
                expression = .indexer(expression, index)
            } else {
                return expression
            }
        }
    }

    static let calendarWords: Set<String> = Set(UCUMUnit.calendarUnits.keys)

    mutating func term() throws(FHIRPathError) -> FHIRPathExpression {
        let token = current
        switch token.kind {
        case .number, .longNumber:
            advance()
            if token.kind == .number, current.kind == .string || (current.kind == .identifier && Self.calendarWords.contains(current.text)) {
                let unit = current.text
                advance()
                guard let value = FHIRPathDecimal(text: token.text) else { throw FHIRPathError(.syntax, "bad number", position: token.position) }
                return .literal(.quantity(FHIRPathQuantity(value: value, unit: unit)))
            }
            if !token.text.contains("."), let integer = Int(token.text) { return .literal(.integer(integer)) }
            guard let decimal = FHIRPathDecimal(text: token.text) else { throw FHIRPathError(.syntax, "bad number '\(token.text)'", position: token.position) }
            return .literal(.decimal(decimal))
        case .string:
            advance()
            return .literal(.string(token.text))
        case .temporal:
            advance()
            return .literal(.temporal(try Self.temporal(token)))
        case .variable:
            advance()
            return .variable(token.text)
        case .special:
            advance()
            switch token.text {
            case "$this": return .this
            case "$index": return .index
            case "$total": return .total
            default: throw FHIRPathError(.syntax, "unknown '\(token.text)'", position: token.position)
            }
        case .symbol where token.text == "(":
            advance()
            let inner = try expression()
            try expect(")")
            return inner
        case .symbol where token.text == "{":
            advance()
            try expect("}")
            return .empty
        case .identifier where token.text == "true" || token.text == "false":
            advance()
            return .literal(.boolean(token.text == "true"))
        case .identifier, .delimitedIdentifier:
            return try invocation(on: nil)
        default:
            throw FHIRPathError(.syntax, token.kind == .end ? "unexpected end of expression" : "unexpected '\(token.text)'", position: token.position)
        }
    }

    static func temporal(_ token: FHIRPathToken) throws(FHIRPathError) -> FHIRPathTemporal {
        let text = token.text
        let value: FHIRPathTemporal?
        if text.hasPrefix("T") {
            value = FHIRPathTemporal(text, kind: .time)
        } else if text.contains("T") {
            value = FHIRPathTemporal(text, kind: .dateTime)
        } else {
            value = FHIRPathTemporal(text, kind: .date)
        }
        guard let value else { throw FHIRPathError(.syntax, "'@\(text)' is not a date, date-time or time", position: token.position) }
        return value
    }

    mutating func invocation(on target: FHIRPathExpression?) throws(FHIRPathError) -> FHIRPathExpression {
        let token = current
        switch token.kind {
        case .identifier, .delimitedIdentifier:
            advance()
            if token.kind == .identifier && isSymbol("(") {
                advance()
                var arguments: [FHIRPathExpression] = []
                if !isSymbol(")") {
                    arguments.append(try expression())
                    while isSymbol(",") {
                        advance()
                        arguments.append(try expression())
                    }
                }
                try expect(")")
                return .function(target, token.text, arguments)
            }
            return .member(target, token.text)
        case .special:
            advance()
            switch token.text {
            case "$this": return .this
            case "$index": return .index
            case "$total": return .total
            default: throw FHIRPathError(.syntax, "unknown '\(token.text)'", position: token.position)
            }
        default:
            throw FHIRPathError(.syntax, "a name expected after '.', found '\(token.text)'", position: token.position)
        }
    }
}
