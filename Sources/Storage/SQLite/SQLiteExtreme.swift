import GRDB

/// `socle_extreme(maximum, number, text, reference)`: the `reference` of the
/// row whose ordering value (`number`, then `text`) is the largest (or the
/// smallest when `maximum` is 0), rows without a reference left out. AQL's MIN
/// and MAX of a data value return the object that has the extreme (issue 19
/// §3); PostgreSQL says the same with `array_agg(… ORDER BY …)[1]`, which
/// SQLite 3.40 has no syntax for.
struct SQLiteExtreme: DatabaseAggregate {
    static let function = DatabaseFunction("socle_extreme", argumentCount: 4, pure: true, aggregate: SQLiteExtreme.self)

    var best: (number: Double?, text: String?, reference: String)?
    var maximum = true

    mutating func step(_ values: [DatabaseValue]) {
        guard let reference = String.fromDatabaseValue(values[3]) else { return }
        maximum = (Int.fromDatabaseValue(values[0]) ?? 1) != 0
        let candidate = (number: Double.fromDatabaseValue(values[1]), text: String.fromDatabaseValue(values[2]), reference: reference)
        guard let current = best else {
            best = candidate
            return
        }
        if Self.order(candidate.number, candidate.text, current.number, current.text, maximum: maximum) { best = candidate }
    }

    func finalize() -> (any DatabaseValueConvertible)? { best?.reference }

    /// Whether the candidate goes before the current one: absent values after
    /// any value, whichever the direction, as `NULLS LAST` does.
    static func order(_ number: Double?, _ text: String?, _ otherNumber: Double?, _ otherText: String?, maximum: Bool) -> Bool {
        func before<T: Comparable>(_ a: T?, _ b: T?) -> Bool? {
            switch (a, b) {
            case (nil, nil): return nil
            case (nil, _): return false
            case (_, nil): return true
            case (let a?, let b?): return a == b ? nil : (maximum ? a > b : a < b)
            }
        }
        return before(number, otherNumber) ?? before(text, otherText) ?? false
    }
}
