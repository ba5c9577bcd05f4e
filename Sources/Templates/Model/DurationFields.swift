/// The fields of an ISO 8601 duration as FLAT and web templates name them
/// (`|year` … `|second`), with their designators: `P[nY][nM][nW][nD][T[nH][nM][nS]]`,
/// an `M` before `T` being months and after it minutes (RM 1.1.0 §DV_DURATION).
enum DurationFields {
    static let designators: [(field: String, letter: Character, inTime: Bool)] = [
        ("year", "Y", false), ("month", "M", false), ("week", "W", false), ("day", "D", false),
        ("hour", "H", true), ("minute", "M", true), ("second", "S", true),
    ]

    static func field(_ letter: Character, inTime: Bool) -> String? {
        designators.first { $0.letter == letter && $0.inTime == inTime }?.field
    }

    /// The fields a C_DURATION pattern (`PYMWD`, `PTHMS`) allows; nil for no pattern.
    static func allowed(by pattern: String?) -> Set<String>? {
        guard let pattern, pattern.first == "P" else { return nil }
        var allowed: Set<String> = []
        var inTime = false
        for letter in pattern.dropFirst() {
            if letter == "T" { inTime = true } else if let field = field(letter, inTime: inTime) { allowed.insert(field) }
        }
        return allowed.isEmpty ? nil : allowed
    }

    /// The whole-number fields of a duration (`P6Y2D` → year 6, day 2); empty
    /// when the text is not one.
    static func amounts(_ duration: String) -> [String: Int] {
        guard duration.first == "P" else { return [:] }
        var inTime = false
        var digits = ""
        var amounts: [String: Int] = [:]
        for character in duration.dropFirst() {
            if character == "T" {
                inTime = true
            } else if character.isASCII && character.isNumber {
                digits.append(character)
            } else {
                guard let value = Int(digits), let field = field(character, inTime: inTime), amounts[field] == nil else { return [:] }
                amounts[field] = value
                digits = ""
            }
        }
        return digits.isEmpty ? amounts : [:]
    }

    /// `P1Y2M3W4DT5H6M7S` from fields given one by one, in ISO 8601's order
    /// (`PT0S` when none is).
    static func text(_ parts: [String: String]) -> String {
        var text = "P"
        var inTime = false
        for designator in designators {
            guard let value = parts[designator.field] else { continue }
            if designator.inTime && !inTime {
                text += "T"
                inTime = true
            }
            text += value + String(designator.letter)
        }
        return text == "P" ? "PT0S" : text
    }
}
