/// Tokens of FHIRPath (FHIRPath 2.0 §Lexical elements).
struct FHIRPathToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case identifier, delimitedIdentifier, string, number, longNumber, temporal, symbol, variable, special, end
    }
    var kind: Kind
    var text: String
    var position: Int
}

/// Splits an expression into tokens, dropping comments and whitespace.
struct FHIRPathLexer {
    static func tokens(_ source: String) throws(FHIRPathError) -> [FHIRPathToken] {
        let chars = Array(source.unicodeScalars)
        var tokens: [FHIRPathToken] = []
        var i = 0
        func isIdentifierStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.properties.isAlphabetic && c.isASCII) }
        func isIdentifierPart(_ c: Unicode.Scalar) -> Bool { isIdentifierStart(c) || ("0"..."9").contains(c) }
        func isDigit(_ index: Int) -> Bool { index < chars.count && ("0"..."9").contains(chars[index]) }
        while i < chars.count {
            let c = chars[i]
            let start = i
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            if c == "/" && i + 1 < chars.count && chars[i + 1] == "/" {
                while i < chars.count && chars[i] != "\n" { i += 1 }
                continue
            }
            if c == "/" && i + 1 < chars.count && chars[i + 1] == "*" {
                i += 2
                while i + 1 < chars.count && !(chars[i] == "*" && chars[i + 1] == "/") { i += 1 }
                guard i + 1 < chars.count else { throw FHIRPathError(.syntax, "a comment is not closed", position: start) }
                i += 2
                continue
            }
            if isIdentifierStart(c) {
                while i < chars.count && isIdentifierPart(chars[i]) { i += 1 }
                tokens.append(FHIRPathToken(kind: .identifier, text: String(String.UnicodeScalarView(chars[start..<i])), position: start))
                continue
            }
            if c == "`" || c == "'" {
                let text = try quoted(chars, &i, quote: c)
                tokens.append(FHIRPathToken(kind: c == "'" ? .string : .delimitedIdentifier, text: text, position: start))
                continue
            }
            if isDigit(i) {
                while isDigit(i) { i += 1 }
                if i < chars.count && chars[i] == "." && isDigit(i + 1) {
                    i += 1
                    while isDigit(i) { i += 1 }
                }
                var kind = FHIRPathToken.Kind.number
                let text = String(String.UnicodeScalarView(chars[start..<i]))
                if i < chars.count && chars[i] == "L" { kind = .longNumber; i += 1 }
                tokens.append(FHIRPathToken(kind: kind, text: text, position: start))
                continue
            }
            if c == "@" {
                i += 1
                while i < chars.count {
                    let d = chars[i]
                    if ("0"..."9").contains(d) || d == "T" || d == ":" || d == "Z" { i += 1; continue }
                    if (d == "-" || d == "+" || d == ".") && isDigit(i + 1) { i += 1; continue }
                    break
                }
                tokens.append(FHIRPathToken(kind: .temporal, text: String(String.UnicodeScalarView(chars[(start + 1)..<i])), position: start))
                continue
            }
            if c == "$" {
                i += 1
                while i < chars.count && isIdentifierPart(chars[i]) { i += 1 }
                tokens.append(FHIRPathToken(kind: .special, text: String(String.UnicodeScalarView(chars[start..<i])), position: start))
                continue
            }
            if c == "%" {
                i += 1
                guard i < chars.count else { throw FHIRPathError(.syntax, "a variable name is expected after %", position: start) }
                let name: String
                if chars[i] == "`" || chars[i] == "'" {
                    name = try quoted(chars, &i, quote: chars[i])
                } else {
                    let nameStart = i
                    while i < chars.count && isIdentifierPart(chars[i]) { i += 1 }
                    name = String(String.UnicodeScalarView(chars[nameStart..<i]))
                }
                guard !name.isEmpty else { throw FHIRPathError(.syntax, "a variable name is expected after %", position: start) }
                tokens.append(FHIRPathToken(kind: .variable, text: name, position: start))
                continue
            }
            let two = i + 1 < chars.count ? String(String.UnicodeScalarView([c, chars[i + 1]])) : ""
            if ["<=", ">=", "!=", "!~"].contains(two) {
                tokens.append(FHIRPathToken(kind: .symbol, text: two, position: start))
                i += 2
                continue
            }
            if "+-*/|&=~<>.,()[]{}".unicodeScalars.contains(c) {
                tokens.append(FHIRPathToken(kind: .symbol, text: String(c), position: start))
                i += 1
                continue
            }
            throw FHIRPathError(.syntax, "unexpected character '\(c)'", position: start)
        }
        tokens.append(FHIRPathToken(kind: .end, text: "", position: chars.count))
        return tokens
    }

    private static func quoted(_ chars: [Unicode.Scalar], _ i: inout Int, quote: Unicode.Scalar) throws(FHIRPathError) -> String {
        let start = i
        i += 1
        var text = String.UnicodeScalarView()
        while i < chars.count && chars[i] != quote {
            if chars[i] == "\\" {
                i += 1
                guard i < chars.count else { break }
                switch chars[i] {
                case "n": text.append("\n")
                case "r": text.append("\r")
                case "t": text.append("\t")
                case "f": text.append("\u{0C}")
                case "u":
                    let hex = i + 4 < chars.count ? String(String.UnicodeScalarView(chars[(i + 1)...(i + 4)])) : ""
                    guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                        throw FHIRPathError(.syntax, "bad \\u escape", position: i)
                    }
                    text.append(scalar)
                    i += 4
                default: text.append(chars[i])
                }
                i += 1
                continue
            }
            text.append(chars[i])
            i += 1
        }
        guard i < chars.count else { throw FHIRPathError(.syntax, "a quoted text is not closed", position: start) }
        i += 1
        return String(text)
    }
}
