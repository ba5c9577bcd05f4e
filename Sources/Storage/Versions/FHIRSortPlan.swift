import Foundation
import JSONCore

/// One key of a search's `_sort` (R4 search §Sorting): the parameter, what
/// its values compare as, and the direction.
public struct FHIRSortKey: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The resource's id.
        case id
        /// Strings (normalised), tokens, uris: the indexed value.
        case text
        /// References: the target's id.
        case reference
        /// Dates: the start of the interval ascending, its end descending.
        case date
        /// Numbers and quantities.
        case number
    }

    public var code: String
    public var kind: Kind
    public var descending: Bool

    public init(code: String, kind: Kind, descending: Bool) {
        self.code = code
        self.kind = kind
        self.descending = descending
    }
}

/// A sorted search as SQL: each key a resource's smallest value ascending
/// (largest descending) among its index rows, missing values last, the
/// index's order (`rid`) last of all; a page starts after the row its cursor holds (keyset
/// paging: the cursor carries that row's sort values and `rid`, not an offset).
struct FHIRSortPlan {
    let keys: [FHIRSortKey]

    init(_ keys: [FHIRSortKey]) {
        self.keys = keys
    }

    /// `SELECT Type/id, n0, v0, …, rid` of the matches, ordered, after the cursor, limited;
    /// `backward`: the rows before the cursor, in the reverse order (the page before it, nearest first).
    /// `matches`: the `FROM … WHERE …` of the matches (`FHIRSearchSQL.body`), `o` a row with the resource's `rid`.
    func query(matches: String, binds matchBinds: [SQLValue], after: String?, backward: Bool = false, limit: Int) throws -> (String, [SQLValue]) {
        let resource = FHIRSearchTable.resource.name
        var binds: [SQLValue] = []
        var inner: [String] = ["o.rid AS rid"]
        var middle: [String] = []
        var order: [String] = []
        for (index, key) in keys.enumerated() {
            let direction = key.descending != backward ? "DESC" : "ASC"
            let best = key.descending ? "MAX" : "MIN"
            switch key.kind {
            case .id:
                inner.append("(SELECT \(FHIRSearchSQL.objectID("s")) FROM \(resource) s WHERE s.rid = o.rid) AS e\(index)")
            case .text, .reference, .date, .number:
                let (table, column): (FHIRSearchTable, String) =
                    switch key.kind {
                    case .reference: (.reference, "tid")
                    case .number: (.number, "num")
                    case .date: (.date, key.descending ? "hi" : "lo")
                    default: (.token, "val")
                    }
                inner.append("(SELECT \(best)(s.\(column)) FROM \(table.name) s WHERE s.rid = o.rid AND s.code = ?) AS e\(index)")
                binds.append(.text(key.code))
            }
            middle.append("CASE WHEN e\(index) IS NULL THEN 1 ELSE 0 END AS n\(index)")
            middle.append("COALESCE(e\(index), \(key.kind == .date || key.kind == .number ? "0" : "''")) AS v\(index)")
            order += ["p.n\(index) \(backward ? "DESC" : "ASC")", "p.v\(index) \(direction)"]
        }
        order.append("p.rid \(backward ? "DESC" : "ASC")")
        let columns = (0..<keys.count).flatMap { ["p.n\($0)", "p.v\($0)"] }
        var sql = "SELECT \(FHIRSearchSQL.objectID("r")), \((columns + ["p.rid"]).joined(separator: ", ")) FROM (SELECT \(middle.joined(separator: ", ")), rid "
            + "FROM (SELECT DISTINCT \(inner.joined(separator: ", ")) " + matches + ") matched) p JOIN \(resource) r ON r.rid = p.rid"
        binds += matchBinds
        if let after {
            let (predicate, values) = try keyset(after, backward: backward)
            sql += " WHERE " + predicate
            binds += values
        }
        return (sql + " ORDER BY " + order.joined(separator: ", ") + " LIMIT ?", binds + [.integer(Int64(limit))])
    }

    /// Rows strictly after the cursor's (before it, `backward`), in the order (n0, v0, n1, v1, …, rid).
    func keyset(_ cursor: String, backward: Bool = false) throws -> (String, [SQLValue]) {
        guard let data = Data(base64Encoded: cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + padding(cursor)),
            case .array(let items)? = try? JSONParser.parse(Array(data)), items.count == keys.count * 2 + 1
        else { throw StoreError(.invalidValue, "_page '\(cursor)' is not a page of this search") }
        var columns: [(name: String, descending: Bool, value: SQLValue)] = []
        for (index, key) in keys.enumerated() {
            columns.append(("p.n\(index)", false, .integer(Self.integer(items[index * 2]) ?? 0)))
            let value = items[index * 2 + 1]
            let typed: SQLValue =
                switch key.kind {
                case .id, .text, .reference: .text(value.stringValue ?? "")
                case .date: .integer(Self.integer(value) ?? 0)
                case .number: .real(Self.number(value) ?? 0)
                }
            columns.append(("p.v\(index)", key.descending, typed))
        }
        columns.append(("p.rid", false, .integer(items.last.flatMap(Self.integer) ?? 0)))
        var alternatives: [String] = []
        var binds: [SQLValue] = []
        for position in columns.indices {
            var terms: [String] = []
            for earlier in columns[..<position] {
                terms.append("\(earlier.name) = ?")
                binds.append(earlier.value)
            }
            terms.append("\(columns[position].name) \(columns[position].descending != backward ? "<" : ">") ?")
            binds.append(columns[position].value)
            alternatives.append("(" + terms.joined(separator: " AND ") + ")")
        }
        return ("(" + alternatives.joined(separator: " OR ") + ")", binds)
    }

    /// A whole number as written (an open date end is the largest or smallest Int64, past a Double's precision).
    static func integer(_ value: JSON) -> Int64? {
        guard case .number(let text) = value else { return nil }
        return Int64(text)
    }

    static func number(_ value: JSON) -> Double? {
        guard case .number(let text) = value else { return nil }
        return Double(text)
    }

    func padding(_ text: String) -> String { String(repeating: "=", count: (4 - text.count % 4) % 4) }

    /// The cursor of a result row: its sort values and `rid`, as URL-safe base64 of a JSON array.
    static func cursor(_ row: SQLRow, keys: Int) -> String {
        var items: [JSON] = []
        for index in 1...(keys * 2) {
            switch row.values[safe: index] ?? .null {
            case .integer(let number): items.append(JSON(Int(number)))
            case .real(let number): items.append(.number(String(number)))
            case .text(let text): items.append(.string(text))
            default: items.append(.null)
            }
        }
        items.append(JSON(Int(row.int(keys * 2 + 1) ?? 0)))
        return Data(JSONSerializer.bytes(.array(items))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
