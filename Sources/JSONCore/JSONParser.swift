/// Where a JSON document is malformed: line and column (both from 1), the
/// JSON Pointer (RFC 6901) of the value being read, and why.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var column: Int
    /// `/content/0/name`: empty at the top of the document.
    public var path: String = ""

    public var description: String {
        "invalid JSON at line \(line), column \(column)\(path.isEmpty ? "" : " (\(path))"): \(message)"
    }

    /// The same error seen from the value that holds it.
    func inside(_ component: String) -> JSONParseError {
        var error = self
        var escaped = ""
        for character in component {
            switch character {
            case "~": escaped += "~0"
            case "/": escaped += "~1"
            default: escaped.append(character)
            }
        }
        error.path = "/" + escaped + path
        return error
    }
}

/// RFC 8259 parser over UTF-8 bytes. One pass, no intermediate Foundation
/// objects; numbers are validated against the RFC grammar and kept as text.
///
/// Stricter than RFC 8259 where it leaves a choice open, as I-JSON (RFC
/// 7493) and FHIR (JSON representation §2.6.2) are: an object may not name
/// a member twice (the RFC leaves the outcome to the reader, so two readers
/// of one document could disagree), and a string may not hold a NUL
/// character (no store keeps it as text).
public struct JSONParser {
    /// Deeper documents are refused rather than risking the stack.
    public static let maximumDepth = 512

    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSON {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSON in
            var parser = Cursor(bytes: buffer)
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            if parser.index < buffer.count {
                throw parser.error("unexpected '\(parser.describe(buffer[parser.index]))' after the end of the document")
            }
            return value
        }
    }

    public static func parse(_ string: String) throws(JSONParseError) -> JSON {
        try parse(Array(string.utf8))
    }

    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func error(_ message: String, at position: Int? = nil) -> JSONParseError {
            let end = min(position ?? index, bytes.count)
            var line = 1
            var column = 1
            var i = 0
            while i < end {
                if bytes[i] == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if bytes[i] & 0xC0 != 0x80 {
                    column += 1
                }
                i += 1
            }
            return JSONParseError(message: message, line: line, column: column)
        }

        func describe(_ byte: UInt8) -> String {
            byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\u{\(String(byte, radix: 16))}"
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSON {
            guard index < bytes.count else { throw error("unexpected end of document, a value was expected") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw error("unexpected '\(describe(bytes[index]))', a value was expected")
            }
        }

        mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
            let start = index
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw error("invalid literal", at: start) }
            let utf8 = literal.utf8Start
            for offset in 0..<count where bytes[index + offset] != utf8[offset] {
                throw error("invalid literal, expected '\(literal)'", at: start)
            }
            index += count
        }

        mutating func parseObject(depth: Int) throws(JSONParseError) -> JSON {
            if depth > JSONParser.maximumDepth { throw error("document nested deeper than \(JSONParser.maximumDepth) levels") }
            index += 1
            var members: [(key: String, value: JSON)] = []
            // Past a few members, names are looked up in a set rather than in the list.
            var names: Set<String> = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(JSONObject())
            }
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of document inside an object") }
                guard bytes[index] == UInt8(ascii: "\"") else {
                    throw error("unexpected '\(describe(bytes[index]))', a member name in double quotes was expected")
                }
                let keyStart = index
                let key = try parseString()
                let repeated = members.count < 16 ? members.contains { $0.key == key } : !names.insert(key).inserted
                if repeated {
                    throw error("the member name \"\(key)\" appears twice in this object", at: keyStart).inside(key)
                }
                if members.count == 15 { names = Set(members.map(\.key) + [key]) }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw error("':' expected after member name \"\(key)\"")
                }
                index += 1
                skipWhitespace()
                let value: JSON
                do {
                    value = try parseValue(depth: depth)
                } catch {
                    throw error.inside(key)
                }
                members.append((key, value))
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of document inside an object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(JSONObject(members: members))
                }
                throw error("unexpected '\(describe(bytes[index]))', ',' or '}' was expected")
            }
        }

        mutating func parseArray(depth: Int) throws(JSONParseError) -> JSON {
            if depth > JSONParser.maximumDepth { throw error("document nested deeper than \(JSONParser.maximumDepth) levels") }
            index += 1
            var elements: [JSON] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array([])
            }
            while true {
                skipWhitespace()
                do {
                    elements.append(try parseValue(depth: depth))
                } catch {
                    throw error.inside(String(elements.count))
                }
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of document inside an array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
                throw error("unexpected '\(describe(bytes[index]))', ',' or ']' was expected")
            }
        }

        mutating func parseNumber() throws(JSONParseError) -> String {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: a digit was expected", at: index) }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if index < bytes.count, isDigit(bytes[index]) { throw error("invalid number: leading zero", at: start) }
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: a digit was expected after '.'") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: a digit was expected in the exponent") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }

        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        mutating func parseString() throws(JSONParseError) -> String {
            let start = index
            index += 1
            let contentStart = index
            // Fast path: no escapes. Text all ASCII is valid UTF-8 as it is
            // (`String(validating:)` is generic in the standard library, and
            // looks up its metadata on every call).
            var bits: UInt8 = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[contentStart..<index])
                    index += 1
                    return bits < 0x80 ? String(decoding: slice, as: UTF8.self) : try validUTF8(slice, at: contentStart)
                }
                bits |= byte
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw error("control character in a string must be escaped") }
                index += 1
            }
            var scalars: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[contentStart..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return try scalars.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> String in
                        try validUTF8(buffer, at: contentStart)
                    }
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { break }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append(0x22)
                    case UInt8(ascii: "\\"): scalars.append(0x5C)
                    case UInt8(ascii: "/"): scalars.append(0x2F)
                    case UInt8(ascii: "b"): scalars.append(0x08)
                    case UInt8(ascii: "f"): scalars.append(0x0C)
                    case UInt8(ascii: "n"): scalars.append(0x0A)
                    case UInt8(ascii: "r"): scalars.append(0x0D)
                    case UInt8(ascii: "t"): scalars.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try parseHex4()
                        if (0xD800...0xDBFF).contains(code) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw error("unpaired UTF-16 surrogate in \\u escape")
                            }
                            index += 2
                            let low = try parseHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid UTF-16 low surrogate in \\u escape") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(code) {
                            throw error("unpaired UTF-16 surrogate in \\u escape")
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                        if code == 0 { throw error("a NUL character (\\u0000) is not allowed in a string", at: index - 6) }
                        scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default:
                        throw error("invalid escape '\\\(describe(escape))'", at: index - 2)
                    }
                default:
                    if byte < 0x20 { throw error("control character in a string must be escaped") }
                    scalars.append(byte)
                    index += 1
                }
            }
            throw error("unterminated string", at: start)
        }

        mutating func parseHex4() throws(JSONParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("incomplete \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw error("invalid hexadecimal digit in \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        func validUTF8(_ buffer: UnsafeBufferPointer<UInt8>, at position: Int) throws(JSONParseError) -> String {
            guard let string = String(validating: buffer, as: UTF8.self) else {
                throw error("string is not valid UTF-8", at: position)
            }
            return string
        }
    }
}
