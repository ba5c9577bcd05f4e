import JSONCore

/// A DV_ORDERED value as a number to compare limits with (RM 1.1.0
/// DV_ORDERED `is_strictly_comparable_to`, `<`): magnitudes of one kind and
/// unit, dates and times as seconds, durations as seconds (a year and a
/// month at their average length). Values that have no such number (a
/// partial date) are not compared.
struct OrderedValue {
    /// The RM type, with the units of a quantity (`DV_QUANTITY mm[Hg]`).
    var kind: String
    var value: Double

    init?(_ json: JSON) {
        let type = json["_type"]?.stringValue ?? ""
        switch type {
        case "DV_QUANTITY":
            guard let magnitude = InvariantCheck.number(json["magnitude"]) else { return nil }
            kind = "DV_QUANTITY " + (json["units"]?.stringValue ?? "")
            value = magnitude
        case "DV_COUNT":
            guard let magnitude = InvariantCheck.number(json["magnitude"]) else { return nil }
            (kind, value) = (type, magnitude)
        case "DV_ORDINAL", "DV_SCALE":
            guard let rank = InvariantCheck.number(json["value"]) else { return nil }
            (kind, value) = (type, rank)
        case "DV_PROPORTION":
            guard let numerator = InvariantCheck.number(json["numerator"]), let denominator = InvariantCheck.number(json["denominator"]), denominator != 0
            else { return nil }
            (kind, value) = (type, numerator / denominator)
        case "DV_DATE_TIME":
            guard let text = json["value"]?.stringValue, let time = ISODateTime(text) else { return nil }
            (kind, value) = (type, Double(time.microsecondsSinceEpoch) / 1e6)
        case "DV_DATE":
            guard let text = json["value"]?.stringValue, text.count == 10, let time = ISODateTime(text) else { return nil }
            (kind, value) = (type, Double(time.microsecondsSinceEpoch) / 1e6)
        case "DV_TIME":
            guard let text = json["value"]?.stringValue, let seconds = Self.secondsOfDay(text) else { return nil }
            (kind, value) = (type, seconds)
        case "DV_DURATION":
            // A DV_DURATION's magnitude counts a year and a month at their average length (BASE ISO8601_DURATION).
            guard let text = json["value"]?.stringValue, let seconds = ISO8601Text.seconds(ofDuration: text, nominal: true) else { return nil }
            (kind, value) = (type, seconds)
        default: return nil
        }
    }

    func isComparable(to other: OrderedValue) -> Bool { kind == other.kind }

    /// Whether an interval (DV_INTERVAL JSON) holds a value; nil when it cannot be told.
    static func interval(_ interval: JSONObject, contains json: JSON) -> Bool? {
        guard let value = OrderedValue(json) else { return nil }
        if let lower = interval["lower"] {
            guard let limit = OrderedValue(lower), limit.isComparable(to: value) else { return nil }
            let included = interval["lower_included"]?.boolValue ?? true
            if value.value < limit.value || (!included && value.value == limit.value) { return false }
        }
        if let upper = interval["upper"] {
            guard let limit = OrderedValue(upper), limit.isComparable(to: value) else { return nil }
            let included = interval["upper_included"]?.boolValue ?? true
            if value.value > limit.value || (!included && value.value == limit.value) { return false }
        }
        return true
    }

    /// `hh:mm[:ss[.f]]` (extended form, no zone) as seconds since midnight.
    static func secondsOfDay(_ text: String) -> Double? {
        let parts = text.split(separator: ":")
        guard (2...3).contains(parts.count), let hours = Double(parts[0]), let minutes = Double(parts[1]) else { return nil }
        let seconds = parts.count == 3 ? Double(parts[2].replacingOccurrences(of: ",", with: ".")) : 0
        guard let seconds else { return nil }
        return hours * 3600 + minutes * 60 + seconds
    }

    /// A duration's length in seconds; nil with years or months, whose length varies.
    static func exactSeconds(ofDuration text: String) -> Double? { ISO8601Text.seconds(ofDuration: text, nominal: false) }
}

/// RFC 3986 URI syntax, as far as DV_URI needs it.
enum URIText {
    /// Whether a text is a URI reference (RFC 3986 §4.1: a URI, or a
    /// relative reference such as `www.example.org/a`): only URI characters
    /// (unreserved, reserved, `%` and two hex digits), and a scheme (a
    /// letter, then letters, digits, `+`, `-`, `.`) before a `:` that comes
    /// ahead of any `/`, `?` or `#`. Returns the scheme, "" for a relative
    /// reference, nil when the text is none.
    static func scheme(ofReference text: String) -> String? {
        guard !text.isEmpty else { return nil }
        var scalars = Array(text.unicodeScalars)[...]
        while let scalar = scalars.first {
            scalars = scalars.dropFirst()
            if scalar == "%" {
                guard scalars.count >= 2, scalars.prefix(2).allSatisfy(\.isHexDigit) else { return nil }
                scalars = scalars.dropFirst(2)
            } else if !(scalar.isASCIILetter || ("0"..."9").contains(scalar) || allowed.contains(scalar)) {
                return nil
            }
        }
        guard let colon = text.firstIndex(of: ":"), !text[..<colon].contains(where: { "/?#".contains($0) }) else { return "" }
        let scheme = text[..<colon]
        guard let first = scheme.unicodeScalars.first, first.isASCIILetter,
            scheme.unicodeScalars.allSatisfy({ $0.isASCIILetter || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) })
        else { return nil }
        return String(scheme)
    }

    /// Unreserved and reserved characters besides letters and digits.
    static let allowed = Set("-._~:/?#[]@!$&'()*+,;=".unicodeScalars)
}

extension Unicode.Scalar {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
    var isHexDigit: Bool { ("0"..."9").contains(self) || ("a"..."f").contains(self) || ("A"..."F").contains(self) }
}
