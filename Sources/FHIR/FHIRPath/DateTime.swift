import Foundation

/// A FHIRPath Date, DateTime or Time with the precision it was written with
/// (FHIRPath 2.0 §Date/DateTime/Time): partial values compare only as far as
/// both are known, and a comparison past that is empty.
public struct FHIRPathTemporal: Sendable, Hashable {
    public enum Kind: Sendable { case date, dateTime, time }
    public enum Precision: Int, Sendable, Comparable {
        case year = 0, month, day, hour, minute, second, millisecond
        public static func < (a: Precision, b: Precision) -> Bool { a.rawValue < b.rawValue }
    }

    public var kind: Kind
    public var year = 0
    public var month = 1
    public var day = 1
    public var hour = 0
    public var minute = 0
    public var second = 0
    public var millisecond = 0
    /// Fractional-second digits as written (for output).
    public var fractionDigits = 0
    public var precision: Precision
    /// Offset from UTC in minutes; nil when none was written.
    public var timeZoneOffset: Int?

    /// Parses the text form after `@` (`2014-01-05T10:30:00.000+01:00`,
    /// `T10:30`), or of a FHIR primitive (`kind` tells which).
    public init?(_ text: String, kind: Kind) {
        self.kind = kind
        precision = .year
        var scanner = Substring(text)
        if kind == .time {
            if scanner.hasPrefix("T") { scanner = scanner.dropFirst() }
            guard parseTime(&scanner) else { return nil }
            guard scanner.isEmpty else { return nil }
            return
        }
        guard let y = Self.digits(&scanner, 4) else { return nil }
        year = y
        precision = .year
        if scanner.first == "-" {
            scanner = scanner.dropFirst()
            guard let m = Self.digits(&scanner, 2), (1...12).contains(m) else { return nil }
            month = m
            precision = .month
            if scanner.first == "-" {
                scanner = scanner.dropFirst()
                guard let d = Self.digits(&scanner, 2), d >= 1, d <= Self.daysIn(month: m, year: y) else { return nil }
                day = d
                precision = .day
            }
        }
        if scanner.first == "T" {
            guard kind == .dateTime else { return nil }
            if precision < .day {
                // `@2015T` and `@2015-02T`: a date-time of year or month precision.
                scanner = scanner.dropFirst()
                guard scanner.isEmpty else { return nil }
                return
            }
            scanner = scanner.dropFirst()
            if scanner.isEmpty { return }
            guard parseTime(&scanner) else { return nil }
            if !scanner.isEmpty {
                guard let offset = Self.zone(&scanner) else { return nil }
                timeZoneOffset = offset
            }
        } else if !scanner.isEmpty {
            guard kind == .dateTime, let offset = Self.zone(&scanner) else { return nil }
            timeZoneOffset = offset
        }
        guard scanner.isEmpty else { return nil }
    }

    private mutating func parseTime(_ scanner: inout Substring) -> Bool {
        guard let h = Self.digits(&scanner, 2), h < 24 else { return false }
        hour = h
        precision = .hour
        guard scanner.first == ":" else { return true }
        scanner = scanner.dropFirst()
        guard let mi = Self.digits(&scanner, 2), mi < 60 else { return false }
        minute = mi
        precision = .minute
        guard scanner.first == ":" else { return true }
        scanner = scanner.dropFirst()
        guard let s = Self.digits(&scanner, 2), s < 60 else { return false }
        second = s
        precision = .second
        if scanner.first == "." {
            scanner = scanner.dropFirst()
            let fraction = scanner.prefix { $0.isASCII && $0.isNumber }
            guard !fraction.isEmpty else { return false }
            scanner = scanner.dropFirst(fraction.count)
            fractionDigits = fraction.count
            let padded = (String(fraction) + "000").prefix(3)
            millisecond = Int(padded) ?? 0
            precision = .millisecond
        }
        return true
    }

    private static func digits(_ scanner: inout Substring, _ count: Int) -> Int? {
        let part = scanner.prefix(count)
        guard part.count == count, part.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        scanner = scanner.dropFirst(count)
        return Int(part)
    }

    private static func zone(_ scanner: inout Substring) -> Int? {
        if scanner.first == "Z" {
            scanner = scanner.dropFirst()
            return 0
        }
        guard let sign = scanner.first, sign == "+" || sign == "-" else { return nil }
        scanner = scanner.dropFirst()
        guard let h = digits(&scanner, 2), scanner.first == ":" else { return nil }
        scanner = scanner.dropFirst()
        guard let m = digits(&scanner, 2), h <= 14, m < 60 else { return nil }
        return (sign == "-" ? -1 : 1) * (h * 60 + m)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Precision as FHIRPath's precision() counts it (digits of the form).
    public var digitPrecision: Int {
        if kind == .time {
            return [2, 4, 6, 9][min(max(precision.rawValue - 3, 0), 3)]
        }
        switch precision {
        case .year: return 4
        case .month: return 6
        case .day: return 8
        case .hour: return 10
        case .minute: return 12
        case .second: return 14
        case .millisecond: return 17
        }
    }

    /// The components in order, as far as `precision` (seconds and
    /// milliseconds as one decimal second, FHIRPath §Comparison).
    private func components(through: Precision) -> [Decimal] {
        var values: [Decimal] = []
        let all: [Int] = kind == .time ? [hour, minute] : [year, month, day, hour, minute]
        let first = kind == .time ? 3 : 0
        for (offset, value) in all.enumerated() where first + offset <= through.rawValue && first + offset < 5 {
            values.append(Decimal(value))
        }
        if through >= .second {
            values.append(Decimal(second) + Decimal(millisecond) / 1000)
        }
        return values
    }

    /// The value in UTC when both sides carry time zones.
    func normalised() -> FHIRPathTemporal {
        guard kind == .dateTime, let offset = timeZoneOffset, precision >= .hour, offset != 0 else { return self }
        var components = DateComponents()
        components.year = year; components.month = month; components.day = day
        components.hour = hour; components.minute = minute - offset
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: components) else { return self }
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        var copy = self
        copy.year = parts.year!; copy.month = parts.month!; copy.day = parts.day!
        copy.hour = parts.hour!; copy.minute = parts.minute!
        copy.timeZoneOffset = 0
        return copy
    }

    /// -1, 0, 1, or nil when the values are not comparable at their precisions.
    public static func compare(_ a: FHIRPathTemporal, _ b: FHIRPathTemporal) -> Int? {
        var left = a, right = b
        if (left.timeZoneOffset == nil) != (right.timeZoneOffset == nil), left.precision >= .hour, right.precision >= .hour {
            // One side has no time zone: the instant is not known (FHIRPath §Comparison).
            return nil
        }
        if left.timeZoneOffset != nil || right.timeZoneOffset != nil {
            left = left.normalised()
            right = right.normalised()
        }
        let lp = left.precision == .millisecond ? .second : left.precision
        let rp = right.precision == .millisecond ? .second : right.precision
        let common = min(lp, rp)
        let lc = left.components(through: common), rc = right.components(through: common)
        for (x, y) in zip(lc, rc) where x != y { return x < y ? -1 : 1 }
        return lp == rp ? 0 : nil
    }

    public var description: String {
        var text = ""
        if kind != .time {
            text = String(format: "%04d", year)
            if precision >= .month { text += String(format: "-%02d", month) }
            if precision >= .day { text += String(format: "-%02d", day) }
            if kind == .dateTime && precision >= .hour { text += "T" }
        }
        if precision >= .hour { text += String(format: "%02d", hour) }
        if precision >= .minute { text += String(format: ":%02d", minute) }
        if precision >= .second { text += String(format: ":%02d", second) }
        if precision >= .millisecond { text += "." + String(format: "%03d", millisecond) }
        if kind == .dateTime, let offset = timeZoneOffset, precision >= .hour {
            text += offset == 0 ? "Z" : String(format: "%@%02d:%02d", offset < 0 ? "-" : "+", abs(offset) / 60, abs(offset) % 60)
        }
        return text
    }

    /// Adds a calendar or UCUM time quantity (FHIRPath §Date/Time Arithmetic):
    /// units below the value's precision are rounded off.
    func adding(_ amount: Decimal, unit: String) -> FHIRPathTemporal? {
        // Beyond a million years in any unit, no date can result.
        guard abs(NSDecimalNumber(decimal: amount).doubleValue) < 1e9 else { return nil }
        let whole = NSDecimalNumber(decimal: amount).intValue
        var copy = self
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var components = DateComponents()
        components.year = year; components.month = month; components.day = kind == .time ? 1 : day
        components.hour = hour; components.minute = minute; components.second = second
        components.nanosecond = millisecond * 1_000_000
        if kind == .time { components.year = 2000; components.month = 1 }
        guard let start = calendar.date(from: components) else { return nil }
        var delta = DateComponents()
        switch unit {
        case "year", "years", "a": delta.year = whole
        case "month", "months", "mo": delta.month = whole
        case "week", "weeks", "wk": delta.day = whole * 7
        case "day", "days", "d": delta.day = whole
        case "hour", "hours", "h": delta.hour = whole
        case "minute", "minutes", "min": delta.minute = whole
        case "second", "seconds", "s":
            delta.second = whole
        case "millisecond", "milliseconds", "ms": delta.nanosecond = whole * 1_000_000
        default: return nil
        }
        if kind == .date, delta.hour != nil || delta.minute != nil || delta.second != nil || delta.nanosecond != nil {
            // A date has no time: sub-day amounts in whole days only.
            let seconds = (delta.hour ?? 0) * 3600 + (delta.minute ?? 0) * 60 + (delta.second ?? 0)
            delta = DateComponents(day: seconds / 86400)
        }
        if kind != .time && precision == .year {
            let months = (delta.year ?? 0) * 12 + (delta.month ?? 0)
            delta = DateComponents(year: months / 12 + (delta.day ?? 0) / 365)
        } else if kind != .time && precision == .month {
            delta = DateComponents(year: delta.year, month: (delta.month ?? 0) + (delta.day ?? 0) / 30)
        }
        guard let end = calendar.date(byAdding: delta, to: start) else { return nil }
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: end)
        copy.year = parts.year!; copy.month = parts.month!; copy.day = parts.day!
        copy.hour = parts.hour!; copy.minute = parts.minute!; copy.second = parts.second!
        copy.millisecond = min(999, (parts.nanosecond! + 500_000) / 1_000_000)
        if kind == .time { copy.year = 0; copy.month = 1; copy.day = 1 }
        return copy
    }
}
