#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An ISO 8601 date-time in the extended form openEHR uses for
/// DV_DATE_TIME values and `version_at_time` (ITS-REST 1.0.3 §Datetime
/// format): `2015-01-20T19:30:22.765+01:00`. Held as microseconds since the
/// Unix epoch, so that it sorts and compares in both databases.
public struct ISODateTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// The current time from the system clock.
    public static func now() -> ISODateTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return ISODateTime(microsecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }

    public static func < (lhs: ISODateTime, rhs: ISODateTime) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// Parses `YYYY-MM-DDThh:mm[:ss[.f…]][Z|±hh:mm|±hhmm]`. A time without a
    /// zone is taken as UTC. A space where the zone sign stands is read as
    /// `+`, since an unencoded `+` in a query string arrives as a space.
    public init?(_ text: String) {
        var scanner = DigitScanner(Array(text.utf8))
        guard let year = scanner.digits(4), scanner.expect("-"), let month = scanner.digits(2), scanner.expect("-"),
            let day = scanner.digits(2), (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0, micros = 0, offsetMinutes = 0
        if scanner.expect("T") {
            guard let h = scanner.digits(2), scanner.expect(":"), let m = scanner.digits(2), h < 24, m < 60 else { return nil }
            hour = h
            minute = m
            if scanner.expect(":") {
                guard let s = scanner.digits(2), s < 60 else { return nil }
                second = s
                if scanner.expect(".") || scanner.expect(",") {
                    guard let fraction = scanner.fraction() else { return nil }
                    micros = fraction
                }
            }
            if scanner.expect("Z") {
            } else if let sign = scanner.sign() {
                guard let oh = scanner.digits(2), oh <= 14 else { return nil }
                _ = scanner.expect(":")
                guard let om = scanner.digits(2), om < 60 else { return nil }
                offsetMinutes = sign * (oh * 60 + om)
            }
        }
        guard scanner.atEnd else { return nil }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        self.init(microsecondsSinceEpoch: seconds * 1_000_000 + Int64(micros))
    }

    /// UTC, with microseconds: `2026-11-29T08:15:02.123456Z`.
    public var description: String {
        let seconds = microsecondsSinceEpoch >= 0 ? microsecondsSinceEpoch / 1_000_000 : (microsecondsSinceEpoch - 999_999) / 1_000_000
        let micros = Int(microsecondsSinceEpoch - seconds * 1_000_000)
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(secondOfDay / 3600, 2) + ":"
            + pad(secondOfDay % 3600 / 60, 2) + ":" + pad(secondOfDay % 60, 2) + "." + pad(micros, 6) + "Z"
    }

    /// This instant at a zone offset, to the second (and its fraction when
    /// it has one): `2024-02-21T16:46:17+01:00`, `Z` for an offset of 0.
    public func text(offsetMinutes: Int) -> String {
        let local = ISODateTime(microsecondsSinceEpoch: microsecondsSinceEpoch + Int64(offsetMinutes) * 60_000_000).description
        var text = String(local.dropLast(8))  // `.ffffffZ`
        let fraction = local.dropFirst(20).dropLast().replacing(/0+$/, with: "")
        if !fraction.isEmpty { text += "." + fraction }
        guard offsetMinutes != 0 else { return text + "Z" }
        return text + (offsetMinutes < 0 ? "-" : "+") + pad(abs(offsetMinutes) / 60, 2) + ":" + pad(abs(offsetMinutes) % 60, 2)
    }

    /// The zone offset a date-time is written with, in minutes; nil without one.
    public static func offsetMinutes(of text: String) -> Int? {
        guard let tee = text.firstIndex(of: "T") else { return nil }
        let time = text[text.index(after: tee)...]
        if time.hasSuffix("Z") { return 0 }
        guard let sign = time.lastIndex(where: { $0 == "+" || $0 == "-" }) else { return nil }
        let digits = time[time.index(after: sign)...].filter(\.isNumber)
        guard digits.count == 4, let hours = Int(digits.prefix(2)), let minutes = Int(digits.suffix(2)) else { return nil }
        return (time[sign] == "-" ? -1 : 1) * (hours * 60 + minutes)
    }

    /// The UTC calendar fields: year, month, day, hour, minute, second and
    /// weekday (0 is Sunday), for formats other than ISO 8601 (HTTP dates).
    public var utcFields: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int) {
        let seconds = microsecondsSinceEpoch >= 0 ? microsecondsSinceEpoch / 1_000_000 : (microsecondsSinceEpoch - 999_999) / 1_000_000
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        let weekday = ((days % 7) + 11) % 7
        return (year, month, day, secondOfDay / 3600, secondOfDay % 3600 / 60, secondOfDay % 60, weekday)
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 (proleptic Gregorian calendar).
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date (year, month, day) of a day count from 1970-01-01.
    public static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

struct DigitScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    mutating func digits(_ count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for offset in 0..<count {
            let byte = bytes[index + offset]
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        index += count
        return value
    }

    mutating func expect(_ character: Character) -> Bool {
        guard index < bytes.count, let ascii = character.asciiValue, bytes[index] == ascii else { return false }
        index += 1
        return true
    }

    mutating func sign() -> Int? {
        if expect("+") || expect(" ") { return 1 }
        if expect("-") { return -1 }
        return nil
    }

    /// Fractional seconds, to microseconds (further digits are truncated).
    mutating func fraction() -> Int? {
        var value = 0
        var count = 0
        while index < bytes.count, bytes[index] >= 48 && bytes[index] <= 57 {
            if count < 6 { value = value * 10 + Int(bytes[index] - 48) }
            count += 1
            index += 1
        }
        guard count > 0 else { return nil }
        for _ in count..<max(count, 6) { value *= 10 }
        return value
    }
}
