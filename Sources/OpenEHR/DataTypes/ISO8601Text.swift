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

    public static func isDateTime(_ text: String) -> Bool {
        guard matches(dateTimeRegex, text), fieldsInRange(text) else { return false }
        guard let t = text.firstIndex(of: "T") else { return true }
        return timeFieldsInRange(text[text.index(after: t)...])
    }
    public static func isDate(_ text: String) -> Bool { matches(dateRegex, text) && fieldsInRange(text) }
    public static func isTime(_ text: String) -> Bool { matches(timeRegex, text) && timeFieldsInRange(Substring(text)) }
    public static func isDuration(_ text: String) -> Bool { matches(durationRegex, text) }

    /// Hour 0–23 (24 only as 24:00:00, the end of a day), minute and
    /// second 0–59, and a zone of at most ±14:59 (BASE foundation_types
    /// ISO8601_TIME `valid_hour`, `valid_minute`, `valid_second`).
    static func timeFieldsInRange(_ time: Substring) -> Bool {
        let zoneStart = time.firstIndex { $0 == "Z" || $0 == "+" || $0 == "-" } ?? time.endIndex
        let clock = time[..<zoneStart].prefix { $0 != "." && $0 != "," }.filter(\.isNumber)
        let fields = stride(from: 0, to: clock.count, by: 2).map { Int(clock.dropFirst($0).prefix(2)) ?? 99 }
        let hour = fields.first ?? 0, minute = fields.count > 1 ? fields[1] : 0, second = fields.count > 2 ? fields[2] : 0
        let fraction = time[..<zoneStart].drop { $0 != "." && $0 != "," }.dropFirst()
        guard minute < 60, second < 60 else { return false }
        guard hour < 24 || (hour == 24 && minute == 0 && second == 0 && fraction.allSatisfy { $0 == "0" }) else { return false }
        let zone = time[zoneStart...].filter(\.isNumber)
        if zone.count >= 2, let zoneHour = Int(zone.prefix(2)), zoneHour > 14 { return false }
        if zone.count == 4, let zoneMinute = Int(zone.suffix(2)), zoneMinute > 59 { return false }
        return true
    }

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

    /// An exact duration of so many microseconds (`PT2H`, `P1DT30M`,
    /// `PT0.5S`): days, hours, minutes and seconds, no year or month.
    public static func duration(microseconds: Int64) -> String {
        var rest = abs(microseconds)
        let days = rest / 86_400_000_000
        rest %= 86_400_000_000
        let hours = rest / 3_600_000_000
        rest %= 3_600_000_000
        let minutes = rest / 60_000_000
        rest %= 60_000_000
        var text = microseconds < 0 ? "-P" : "P"
        if days > 0 { text += "\(days)D" }
        var time = ""
        if hours > 0 { time += "\(hours)H" }
        if minutes > 0 { time += "\(minutes)M" }
        if rest > 0 {
            let fraction = rest % 1_000_000
            time += fraction == 0 ? "\(rest / 1_000_000)S" : "\(rest / 1_000_000)." + String(String(fraction + 1_000_000).dropFirst()).replacing(/0+$/, with: "") + "S"
        }
        if !time.isEmpty { text += "T" + time }
        return text == "P" || text == "-P" ? "PT0S" : text
    }

    /// A duration's length in seconds (BASE ISO8601_DURATION `to_seconds`):
    /// weeks, days, hours, minutes and seconds exactly; years and months at
    /// their average length when `nominal`, otherwise nil, their length varying.
    public static func seconds(ofDuration text: String, nominal: Bool) -> Double? {
        guard isDuration(text) else { return nil }
        var rest = Substring(text)
        let negative = rest.hasPrefix("-")
        if negative { rest = rest.dropFirst() }
        rest = rest.dropFirst()  // P
        var total = 0.0
        var inTime = false
        var number = ""
        for character in rest {
            if character == "T" {
                inTime = true
            } else if character.isNumber || character == "." || character == "," {
                number.append(character == "," ? "." : character)
            } else {
                guard let amount = Double(number) else { return nil }
                number = ""
                switch (character, inTime) {
                case ("Y", false): guard nominal else { return nil }; total += amount * 365.2425 * 86_400
                case ("M", false): guard nominal else { return nil }; total += amount * 30.436875 * 86_400
                case ("W", false): total += amount * 604_800
                case ("D", false): total += amount * 86_400
                case ("H", true): total += amount * 3600
                case ("M", true): total += amount * 60
                case ("S", true): total += amount
                default: return nil
                }
            }
        }
        return negative ? -total : total
    }
}
