import Foundation

/// A FHIRPath decimal: the exact value and the number of digits written
/// after the point, so `1.0` stays `1.0` and boundaries keep their precision
/// (FHIRPath 2.0 §Decimal).
public struct FHIRPathDecimal: Sendable, Hashable {
    public var value: Decimal
    /// Digits after the point as written or computed; nil when the result of
    /// arithmetic has its natural form.
    public var scale: Int?

    public init(_ value: Decimal, scale: Int? = nil) {
        self.value = value
        self.scale = scale
    }

    public init?(text: String) {
        guard Self.isDecimalText(text), let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        self.value = value
        if let dot = text.firstIndex(of: ".") {
            scale = text.distance(from: dot, to: text.endIndex) - 1
        } else {
            scale = 0
        }
    }

    /// A JSON number, which may use an exponent (`1E-22`); nil when out of
    /// the range a decimal holds.
    public init?(jsonNumber text: String) {
        if let plain = FHIRPathDecimal(text: text) {
            self = plain
            return
        }
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), !value.isNaN else { return nil }
        self.init(value, scale: nil)
    }

    static func isDecimalText(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        guard let first = bytes.first, first >= 48, first <= 57 else { return false }
        var seenDot = false
        var lastWasDigit = false
        for byte in bytes {
            if byte >= 48 && byte <= 57 {
                lastWasDigit = true
            } else if byte == UInt8(ascii: ".") && !seenDot {
                seenDot = true
                lastWasDigit = false
            } else {
                return false
            }
        }
        return lastWasDigit
    }

    public var doubleValue: Double { NSDecimalNumber(decimal: value).doubleValue }

    public var description: String {
        guard let scale else { return Self.plain(value) }
        var rounded = Decimal()
        var source = value
        NSDecimalRound(&rounded, &source, max(scale, 0), .plain)
        var text = Self.plain(rounded)
        if scale > 0 {
            let existing = text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 } ?? -1
            if existing < 0 { text += "." }
            text += String(repeating: "0", count: max(0, scale - max(existing, 0)))
        }
        return text
    }

    static func plain(_ value: Decimal) -> String {
        var text = NSDecimalNumber(decimal: value).stringValue
        if text.contains("E") || text.contains("e") { text = String(format: "%.17g", NSDecimalNumber(decimal: value).doubleValue) }
        return text
    }

    /// Significant fractional digits of an arithmetic result.
    static func naturalScale(_ value: Decimal) -> Int { max(0, -value.exponent) }

    public static func == (lhs: FHIRPathDecimal, rhs: FHIRPathDecimal) -> Bool { lhs.value == rhs.value }
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }

    func rounded(_ digits: Int, _ mode: NSDecimalNumber.RoundingMode = .plain) -> Decimal {
        var result = Decimal()
        var source = value
        NSDecimalRound(&result, &source, digits, mode)
        return result
    }
}
