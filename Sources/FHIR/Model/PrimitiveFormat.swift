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
            return FHIRPathTemporal(text, kind: .date) == nil ? "'\(text)' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)" : nil
        case "dateTime":
            guard let value = FHIRPathTemporal(text, kind: .dateTime) else { return "'\(text)' is not a dateTime" }
            if value.precision >= .hour && value.timeZoneOffset == nil { return "'\(text)' has a time but no time zone" }
            if value.precision == .hour || (value.precision < .day && text.contains("T")) { return "'\(text)' is not a dateTime" }
            return nil
        case "instant":
            guard let value = FHIRPathTemporal(text, kind: .dateTime), value.precision >= .second, value.timeZoneOffset != nil else {
                return "'\(text)' is not an instant (a date-time to the second with a time zone)"
            }
            return nil
        case "time":
            guard let value = FHIRPathTemporal(text, kind: .time), value.precision >= .second else { return "'\(text)' is not a time (hh:mm:ss)" }
            return nil
        case "id":
            let valid = !text.isEmpty && text.utf8.count <= 64
                && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == ".") }
            return valid ? nil : "'\(text)' is not an id (1 to 64 of A-Z a-z 0-9 - .)"
        case "code":
            let valid = !text.isEmpty && text.first?.isWhitespace == false && text.last?.isWhitespace == false && !text.contains("  ")
            return valid ? nil : "'\(text)' is not a code (no leading, trailing or double spaces)"
        case "uri", "url", "canonical":
            return text.contains(where: { $0 == " " }) || text.isEmpty ? "'\(text)' is not a \(type)" : nil
        case "oid":
            return text.hasPrefix("urn:oid:") ? nil : "'\(text)' is not an oid (urn:oid:…)"
        case "uuid":
            return text.hasPrefix("urn:uuid:") && UUID(uuidString: String(text.dropFirst(9))) != nil ? nil : "'\(text)' is not a uuid (urn:uuid:…)"
        case "base64Binary":
            let valid = text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+/= \n\r".unicodeScalars.contains($0)) }
            return valid ? nil : "the value is not base64"
        case "string", "markdown":
            return text.isEmpty ? "a string may not be empty" : nil
        default:
            return nil
        }
    }
}
