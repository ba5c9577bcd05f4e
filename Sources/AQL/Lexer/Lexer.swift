/// Splits an AQL query into tokens. Keywords are case-insensitive;
/// `--` starts a comment to the end of the line.
public struct Lexer {
    let characters: [Character]
    var index = 0
    var line = 1
    var column = 1

    public init(_ text: String) {
        characters = Array(text)
    }

    public static func tokens(_ text: String) throws(AQLSyntaxError) -> [Token] {
        var lexer = Lexer(text)
        // No store keeps a NUL as text, and no query needs one (not even in a comment).
        if let nul = lexer.characters.firstIndex(of: "\u{0}") {
            while lexer.index < nul { lexer.advance() }
            throw AQLSyntaxError(line: lexer.line, column: lexer.column, found: "a NUL character (U+0000)", expected: "text without NUL characters")
        }
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    var current: Character? { index < characters.count ? characters[index] : nil }
    func peek(_ offset: Int = 1) -> Character? { index + offset < characters.count ? characters[index + offset] : nil }

    mutating func advance() {
        if characters[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    mutating func skipSpaceAndComments() {
        while let character = current {
            if character.isWhitespace {
                advance()
            } else if character == "-", peek() == "-" {
                while let c = current, c != "\n" { advance() }
            } else {
                return
            }
        }
    }

    static func isIdentifierStart(_ c: Character) -> Bool { c.isLetter || c == "_" }
    static func isIdentifierPart(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    mutating func next() throws(AQLSyntaxError) -> Token {
        skipSpaceAndComments()
        let startLine = line, startColumn = column, startIndex = index
        func token(_ kind: Token.Kind) -> Token {
            Token(kind: kind, line: startLine, column: startColumn, text: String(characters[startIndex..<index]))
        }
        guard let c = current else { return Token(kind: .end, line: startLine, column: startColumn) }
        switch c {
        case "'", "\"": return token(.string(try string(quote: c)))
        case "$":
            advance()
            var name = ""
            while let c = current, Self.isIdentifierPart(c) { name.append(c); advance() }
            guard !name.isEmpty else { throw AQLSyntaxError(line: startLine, column: startColumn, found: "'$'", expected: "a parameter name after $") }
            return token(.parameter(name))
        case "=": advance(); return token(.comparison(.equal))
        case "!":
            advance()
            guard current == "=" else { throw AQLSyntaxError(line: startLine, column: startColumn, found: "'!'", expected: "'!='") }
            advance()
            return token(.comparison(.notEqual))
        case "<":
            advance()
            if current == "=" { advance(); return token(.comparison(.lessOrEqual)) }
            if current == ">" { advance(); return token(.comparison(.notEqual)) }
            return token(.comparison(.less))
        case ">":
            advance()
            if current == "=" { advance(); return token(.comparison(.greaterOrEqual)) }
            return token(.comparison(.greater))
        case "/", "[", "]", "(", ")", ",", "{", "}", "*", "-":
            advance()
            return token(.symbol(c))
        default:
            if c.isNumber { return token(number()) }
            if Self.isIdentifierStart(c) { return token(word()) }
            throw AQLSyntaxError(line: startLine, column: startColumn, found: "'\(c)'", expected: "a keyword, a name, a value or an operator")
        }
    }

    mutating func string(quote: Character) throws(AQLSyntaxError) -> String {
        let startLine = line, startColumn = column
        advance()
        var text = ""
        while let c = current {
            if c == "\\", let escaped = peek() {
                advance(); advance()
                switch escaped {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                default: text.append(escaped)
                }
                continue
            }
            advance()
            if c == quote {
                // A doubled quote stands for the quote itself.
                if current == quote { text.append(quote); advance(); continue }
                return text
            }
            text.append(c)
        }
        throw AQLSyntaxError(line: startLine, column: startColumn, found: "an unterminated string", expected: "the closing \(quote)")
    }

    mutating func number() -> Token.Kind {
        var text = ""
        while let c = current, c.isNumber { text.append(c); advance() }
        var isReal = false
        if current == ".", let next = peek(), next.isNumber {
            isReal = true
            text.append("."); advance()
            while let c = current, c.isNumber { text.append(c); advance() }
        }
        if current == "e" || current == "E", let next = peek(), next.isNumber || ((next == "-" || next == "+") && peek(2)?.isNumber == true) {
            isReal = true
            text.append("e"); advance()
            if current == "-" || current == "+" { text.append(current!); advance() }
            while let c = current, c.isNumber { text.append(c); advance() }
        }
        return isReal ? .real(text) : .integer(text)
    }

    /// A keyword, a name, a node code, a term code or an archetype id.
    mutating func word() -> Token.Kind {
        var text = ""
        while let c = current, Self.isIdentifierPart(c) { text.append(c); advance() }
        // An archetype id runs on with '-' and '.': openEHR-EHR-OBSERVATION.blood_pressure.v2
        if current == "-" || current == "." {
            var extended = text
            var probe = index
            while probe < characters.count, Self.isIdentifierPart(characters[probe]) || characters[probe] == "-" || characters[probe] == "." {
                extended.append(characters[probe])
                probe += 1
            }
            if Self.isArchetypeID(extended) {
                while index < probe { advance() }
                return .archetypeID(extended)
            }
            if current == ".", Self.isNodeCode(text), peek()?.isNumber == true {
                var code = text
                while current == ".", peek()?.isNumber == true {
                    code.append("."); advance()
                    while let c = current, c.isNumber { code.append(c); advance() }
                }
                return .nodeCode(code)
            }
        }
        // terminology::code
        if current == ":", peek() == ":" {
            advance(); advance()
            var code = ""
            while let c = current, Self.isIdentifierPart(c) || c == "." || c == "-" { code.append(c); advance() }
            return .termCode(text + "::" + code)
        }
        if let keyword = Keyword(rawValue: text.uppercased()) { return .keyword(keyword) }
        if Self.isNodeCode(text) { return .nodeCode(text) }
        return .identifier(text)
    }

    static func isNodeCode(_ text: String) -> Bool {
        for prefix in ["at", "id"] where text.hasPrefix(prefix) {
            let rest = text.dropFirst(2)
            if !rest.isEmpty, rest.allSatisfy(\.isNumber) { return true }
        }
        return false
    }

    /// `originator-namespace-rmclass.concept.vN[.N[.N]]` (AM archetype HRID).
    static func isArchetypeID(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0].split(separator: "-").count >= 3, !parts[1].isEmpty else { return false }
        guard let version = parts.dropFirst(2).first, version.hasPrefix("v"), version.dropFirst().allSatisfy(\.isNumber), version.count > 1 else { return false }
        return parts.dropFirst(3).allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }
}
