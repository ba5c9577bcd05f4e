import Foundation

/// ISO 8601 forms of DV_DATE_TIME, DV_DATE, DV_TIME and DV_DURATION values,
/// extended or basic, with partial precision where the RM allows it.
public enum ISO8601Text {
    static let zone = #"(Z|[+-]\d{2}(:?\d{2})?)?"#
    static let time = #"\d{2}(:?\d{2}(:?\d{2}([.,]\d+)?)?)?"#
    static let date = #"\d{4}(-?\d{2}(-?\d{2})?)?"#

    static let dateTimeRegex = try! NSRegularExpression(pattern: "^" + date + "(T" + time + zone + ")?$")
    static let dateRegex = try! NSRegularExpression(pattern: "^" + date + "$")
    static let timeRegex = try! NSRegularExpression(pattern: "^" + time + zone + "$")
    static let durationRegex = try! NSRegularExpression(
        pattern: #"^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+([.,]\d+)?S)?)?$"#)

    static func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    public static func isDateTime(_ text: String) -> Bool { matches(dateTimeRegex, text) && fieldsInRange(text) }
    public static func isDate(_ text: String) -> Bool { matches(dateRegex, text) && fieldsInRange(text) }
    public static func isTime(_ text: String) -> Bool { matches(timeRegex, text) }
    public static func isDuration(_ text: String) -> Bool { matches(durationRegex, text) }

    /// Month 1–12 and a day that exists in that month, where given.
    static func fieldsInRange(_ text: String) -> Bool {
        let digits = text.prefix { $0 != "T" }.filter(\.isNumber)
        guard digits.count >= 6 else { return true }
        let year = Int(digits.prefix(4)) ?? 0
        let month = Int(digits.dropFirst(4).prefix(2)) ?? 0
        guard (1...12).contains(month) else { return false }
        guard digits.count >= 8, let day = Int(digits.dropFirst(6).prefix(2)) else { return true }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }
}
