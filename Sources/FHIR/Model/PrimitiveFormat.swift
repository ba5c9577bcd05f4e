import Foundation
import JSONCore

/// The lexical rules of the R4 primitive types (R4 §Data Types, the
/// `regex` of each primitive's value), written as scanners.
enum PrimitiveFormat {
    /// The JSON kind a primitive is written with, and whether the text
    /// matches its type; nil when valid, else why not.
    static func problem(_ value: JSON, type: String) -> String? {
        switch type {
        case "boolean":
            guard case .bool = value else { return "a boolean (true or false) is expected, found \(value.kindName)" }
            return nil
        case "integer", "positiveInt", "unsignedInt":
            guard case .number(let text) = value else { return "an integer is expected, found \(value.kindName)" }
            guard let number = Int32(text) else { return "'\(text)' is not a 32-bit integer" }
            if type == "positiveInt" && number < 1 { return "\(text) is not a positive integer" }
            if type == "unsignedInt" && number < 0 { return "\(text) is negative" }
            return nil
        case "decimal":
            guard case .number = value else { return "a number is expected, found \(value.kindName)" }
            return nil
        default:
            guard case .string(let text) = value else { return "a string is expected, found \(value.kindName)" }
            return textProblem(text, type: type)
        }
    }

    static func textProblem(_ text: String, type: String) -> String? {
        switch type {
        case "date":
            return DateForm.matches(text, .date) ? nil : "'\(text)' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"
        case "dateTime":
            return DateForm.matches(text, .dateTime) ? nil : "'\(text)' is not a dateTime (a date, or a date and time to the second with a time zone)"
        case "instant":
            return DateForm.matches(text, .instant) ? nil : "'\(text)' is not an instant (a date-time to the second with a time zone)"
        case "time":
            return DateForm.matches(text, .time) ? nil : "'\(text)' is not a time (hh:mm:ss)"
        case "id":
            let valid = !text.isEmpty && text.utf8.count <= 64
                && text.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E }
            return valid ? nil : "'\(text)' is not an id (1 to 64 of A-Z a-z 0-9 - .)"
        case "code":
            // [^\s]+(\s[^\s]+)*: no leading, trailing or repeated white space.
            var previousSpace = true
            for byte in text.utf8 {
                let space = byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
                if space && previousSpace { return "'\(text)' is not a code (no leading, trailing or double spaces)" }
                previousSpace = space
            }
            return previousSpace ? "'\(text)' is not a code (no leading, trailing or double spaces)" : nil
        case "uri", "url", "canonical":
            return text.isEmpty || text.utf8.contains(0x20) ? "'\(text)' is not a \(type)" : nil
        case "oid":
            return text.hasPrefix("urn:oid:") ? nil : "'\(text)' is not an oid (urn:oid:…)"
        case "uuid":
            return text.hasPrefix("urn:uuid:") && UUID(uuidString: String(text.dropFirst(9))) != nil ? nil : "'\(text)' is not a uuid (urn:uuid:…)"
        case "base64Binary":
            let valid = text.utf8.allSatisfy {
                ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39)
                    || $0 == 0x2B || $0 == 0x2F || $0 == 0x3D || $0 == 0x20 || $0 == 0x0A || $0 == 0x0D
            }
            return valid ? nil : "the value is not base64"
        case "string", "markdown":
            return text.isEmpty ? "a string may not be empty" : nil
        default:
            return nil
        }
    }
}

/// The lexical forms of R4 date, dateTime, instant and time (their `regex`
/// in the R4 definitions), checked byte by byte.
enum DateForm {
    enum Kind { case date, dateTime, instant, time }

    static func matches(_ text: String, _ kind: Kind) -> Bool {
        var bytes = Array(text.utf8)[...]
        func digits(_ count: Int, max: Int) -> Bool {
            guard bytes.count >= count else { return false }
            var value = 0
            for byte in bytes.prefix(count) {
                guard byte >= 0x30 && byte <= 0x39 else { return false }
                value = value * 10 + Int(byte - 0x30)
            }
            bytes = bytes.dropFirst(count)
            return value <= max
        }
        func take(_ byte: UInt8) -> Bool {
            guard bytes.first == byte else { return false }
            bytes = bytes.dropFirst()
            return true
        }
        func time() -> Bool {
            guard digits(2, max: 23), take(0x3A), digits(2, max: 59), take(0x3A), digits(2, max: 60) else { return false }
            if take(0x2E) {
                let fraction = bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }
                guard !fraction.isEmpty else { return false }
                bytes = bytes.dropFirst(fraction.count)
            }
            return true
        }
        func zone() -> Bool {
            if take(0x5A) { return true }
            guard take(0x2B) || take(0x2D) else { return false }
            let start = bytes
            if digits(2, max: 13), take(0x3A), digits(2, max: 59) { return true }
            bytes = start
            return digits(2, max: 14) && take(0x3A) && digits(2, max: 0)
        }
        if kind == .time { return time() && bytes.isEmpty }
        // The year: four digits, not 0000.
        guard bytes.count >= 4, bytes.prefix(4) != [0x30, 0x30, 0x30, 0x30], digits(4, max: 9999) else { return false }
        var precision = 0
        if take(0x2D) {
            guard bytes.count >= 2, bytes.prefix(2) != [0x30, 0x30], digits(2, max: 12) else { return false }
            precision = 1
            if take(0x2D) {
                guard bytes.count >= 2, bytes.prefix(2) != [0x30, 0x30], digits(2, max: 31) else { return false }
                precision = 2
            }
        }
        switch kind {
        case .date: return bytes.isEmpty
        case .dateTime:
            if bytes.isEmpty { return true }
            return precision == 2 && take(0x54) && time() && zone() && bytes.isEmpty
        case .instant:
            return precision == 2 && take(0x54) && time() && zone() && bytes.isEmpty
        case .time: return false
        }
    }
}
