import FHIR
import Foundation
import JSONCore

/// The FHIR search index as a projection: for the latest, not deleted
/// version of each FHIR resource, one row per value a search parameter of
/// its type finds in it (`SearchIndexer`, R4 §Search), in `fhir_search`.
/// Conditional interactions and conditional references match against it
/// (`FHIRCriteria`); FHIR search reads it.
public struct FHIRSearchProjection: Projection {
    public static let name = "fhir_search"
    public static let table = "fhir_search"
    public var name: String { Self.name }
    public var version: Int { 3 }
    public var rmTypes: Set<String>? { Self.resourceTypes }
    public var tables: [String] { [Self.table] }

    /// Every concrete FHIR R4 resource type.
    public static let resourceTypes = Set(FHIRSchema.r4.types.values.filter { $0.kind == .resource && !$0.isAbstract }.map(\.name))

    public init() {}

    /// The columns, by what each kind of value keeps in them:
    /// string: `val` normalised, `txt` exact; token: `sys` system, `val` code,
    /// `txt` display or text normalised (`:text`); reference: `sys` type, `val` id, `txt` URL;
    /// uri: `val`; date: `lo`/`hi` in µs, an open end as the smallest or
    /// largest BIGINT (so that every comparison is a range the indexes
    /// serve); number: `num`, `num_lo`/`num_hi`; quantity: `num`, `sys`
    /// system, `val` code, `txt` unit, and `cnum`/`cunit` in UCUM canonical
    /// units when the unit is UCUM; position (`near`): `num` latitude,
    /// `num_lo` longitude. A composite value (R4 search §composite)
    /// is one row per component, under `code$0`, `code$1`, …, with the same
    /// `grp` (unique within the resource).
    /// `vals`: how many values the resource has for the parameter (1: a
    /// second condition on it is met by this row or not at all).
    static let columns = [
        "object_id", "resource_type", "code", "kind", "sys", "val", "txt", "lo", "hi", "num", "num_lo", "num_hi", "cnum", "cunit", "grp", "vals",
    ]

    /// The open ends of a date interval.
    public static let openLow = Int64.min, openHigh = Int64.max

    public func createStatements(_ kind: DatabaseKind) -> [String] {
        let real = kind == .postgresql ? "DOUBLE PRECISION" : "REAL"
        return [
            """
            CREATE TABLE \(Self.table) (object_id TEXT NOT NULL, resource_type TEXT NOT NULL, code TEXT NOT NULL, kind TEXT NOT NULL,
                sys TEXT, val TEXT, txt TEXT, lo BIGINT, hi BIGINT, num \(real), num_lo \(real), num_hi \(real), cnum \(real), cunit TEXT, grp INTEGER,
                vals INTEGER NOT NULL)
            """,
            // A resource's rows of one parameter (the EXISTS of every condition but the first, sort keys).
            "CREATE INDEX \(Self.table)_object_idx ON \(Self.table) (object_id, code)",
            // Not covering: with (…, sys, object_id) a count by code took 3 ms instead of 55
            // at 914,000 resources, but imports ran at 1,281/s instead of 1,644 (measured).
            "CREATE INDEX \(Self.table)_value_idx ON \(Self.table) (resource_type, code, val)",
            // Dates from either end, covering: `ge`/`gt` ranges on the end, `le`/`lt` on the start.
            "CREATE INDEX \(Self.table)_low_idx ON \(Self.table) (resource_type, code, lo, hi, vals, object_id) WHERE kind = 'date'",
            "CREATE INDEX \(Self.table)_high_idx ON \(Self.table) (resource_type, code, hi, lo, vals, object_id) WHERE kind = 'date'",
            "CREATE INDEX \(Self.table)_number_idx ON \(Self.table) (resource_type, code, num) WHERE num IS NOT NULL",
            // Who refers to a resource (referential integrity on delete, compartments, _revinclude).
            "CREATE INDEX \(Self.table)_reference_idx ON \(Self.table) (val, sys) WHERE kind = 'reference'",
        ]
    }

    public func dropStatements(_ kind: DatabaseKind) -> [String] {
        ["DROP TABLE IF EXISTS \(Self.table)"]
    }

    public func statements(for version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement] {
        guard version.record.ehrID == nil else { return [] }
        var statements = version.isCreation ? [] : [SQLStatement("DELETE FROM \(Self.table) WHERE object_id = ?", [.text(version.record.objectID)])]
        guard !version.isDeleted, let document = version.document else { return statements }
        var rows: [[SQLValue]] = []
        var group = 0
        let entries = SearchIndexer.r4.entries(for: document)
        var values: [String: Int] = [:]
        for entry in entries { values[entry.code, default: 0] += 1 }
        for entry in entries {
            guard case .composite(let components) = entry.value else {
                rows.append(
                    Self.row(entry.code, entry.type.rawValue, entry.value, objectID: version.record.objectID, type: version.rmType, values: values[entry.code] ?? 1))
                continue
            }
            group += 1
            for (index, component) in components.enumerated() {
                rows.append(
                    Self.row(
                        "\(entry.code)$\(index)", component.kind, component, objectID: version.record.objectID, type: version.rmType, group: group,
                        values: values[entry.code] ?? 1))
            }
        }
        let head = "INSERT INTO \(Self.table) (\(Self.columns.joined(separator: ", "))) VALUES "
        let placeholders = "(" + Array(repeating: "?", count: Self.columns.count).joined(separator: ", ") + ")"
        for start in stride(from: 0, to: rows.count, by: Self.rowsPerStatement) {
            let chunk = rows[start..<min(start + Self.rowsPerStatement, rows.count)]
            statements.append(SQLStatement(head + Array(repeating: placeholders, count: chunk.count).joined(separator: ", "), chunk.flatMap { $0 }))
        }
        return statements
    }

    /// 16 columns a row: well under both engines' bind limits.
    static let rowsPerStatement = 400

    public func erasureStatements(_ kind: DatabaseKind) -> [SQLStatement] {
        [SQLStatement("DELETE FROM \(Self.table) WHERE object_id IN (SELECT object_id FROM erased_object)")]
    }

    /// The row of one value of a parameter (`code`) of kind `kind`.
    static func row(_ code: String, _ kind: String, _ value: SearchValue, objectID: String, type: String, group: Int? = nil, values: Int = 1) -> [SQLValue] {
        var (sys, val, txt): (String?, String?, String?) = (nil, nil, nil)
        var (lo, hi): (Int64?, Int64?) = (nil, nil)
        var (num, numLow, numHigh, canonical, canonicalUnit): (Double?, Double?, Double?, Double?, String?) = (nil, nil, nil, nil, nil)
        switch value {
        case .string(let normalized, let exact): (val, txt) = (normalized, exact)
        case .token(let system, let code, let text): (sys, val, txt) = (system, code, text.map(SearchIndexer.normalise))
        case .reference(let target, let id, let url, _): (sys, val, txt) = (target, id, url)
        case .uri(let uri): val = uri
        case .date(let low, let high): (lo, hi) = (low ?? openLow, high ?? openHigh)
        case .number(let value, let low, let high): (num, numLow, numHigh) = (double(value), double(low), double(high))
        case .quantity(let value, let system, let code, let unit, let canonicalValue, let canonicalCode):
            (num, sys, val, txt) = (double(value), system, code, unit)
            (canonical, canonicalUnit) = (canonicalValue.map(double), canonicalCode)
        case .position(let latitude, let longitude): (num, numLow) = (latitude, longitude)
        case .composite: break
        }
        return [
            .text(objectID), .text(type), .text(code), .text(kind), SQLValue(sys), SQLValue(val), SQLValue(txt), SQLValue(lo), SQLValue(hi),
            SQLValue(num), SQLValue(numLow), SQLValue(numHigh), SQLValue(canonical), SQLValue(canonicalUnit), SQLValue(group.map(Int64.init)),
            .integer(Int64(values)),
        ]
    }

    static func double(_ value: Decimal) -> Double { NSDecimalNumber(decimal: value).doubleValue }
}
