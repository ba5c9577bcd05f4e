import Foundation
import JSONCore

/// One condition of a FHIR search (R4 §Search), typed by its parameter's
/// type, as conditional interactions and conditional references use them.
public enum FHIRCriterion: Sendable, Hashable {
    /// `code=[system]|[code]`: `system` nil for any system; `noSystem` for `|code`.
    case token(code: String, system: String?, noSystem: Bool, value: String?)
    /// `code=text`: a value starting with `text` (both normalised: case and
    /// accents folded), containing it with `:contains`, or equal to it as
    /// written with `:exact`.
    case string(code: String, text: String, match: StringMatch)
    /// `code=[Type/]id` or an absolute URL.
    case reference(code: String, type: String?, id: String?, url: String?)
    /// `code=uri`, or (R4 search §uri) `:below` a stored uri starting with it, `:above` a stored uri it starts with.
    case uri(code: String, value: String, match: URIMatch)
    /// A token whose system and code are among these (codes by system, `""`
    /// for none): a value set's (R4 search §token `:in`).
    case codes(code: String, [String: [String]])
    /// `near=latitude|longitude|distance` (R4 search, Location `near`):
    /// positions within `kilometres`, by the equirectangular approximation (close
    /// to the great-circle distance over the few hundred kilometres a search spans).
    case near(code: String, latitude: Double, longitude: Double, kilometres: Double)
    /// `code:text=text` on a token (R4 search §token): a display or text starting with `text` (both normalised).
    case text(code: String, text: String)
    /// `code=[prefix]date`: the search value's interval (µs, both ends
    /// inclusive) compared with each indexed interval as the prefix says (R4 search §date).
    case date(code: String, prefix: FHIRSearchPrefix, low: Int64, high: Int64)
    /// `code=[prefix]number` (R4 search §number): the indexed number
    /// compared with the search value, whose written precision makes `eq`
    /// an interval [low, high).
    case number(code: String, prefix: FHIRSearchPrefix, value: Double, low: Double, high: Double)
    /// `code=[prefix]number|system|code` (R4 search §quantity): the number as
    /// `number` compares it, and the unit: system and code, or code or unit alone.
    /// With `canonicalUnit`, the search value is in UCUM canonical units
    /// and compared with the stored quantities' canonical values in that unit.
    case quantity(code: String, prefix: FHIRSearchPrefix, value: Double, low: Double, high: Double, system: String?, unit: String?, canonicalUnit: String?)
    /// `code=a$b` (R4 search §composite): one composite value of the
    /// resource meets every component condition, component `i` under `code$i`.
    case composite(code: String, [FHIRCriterion])
    /// `code:missing=false`: the resource has a value for the parameter (and
    /// `.not(.present)` for `:missing=true`).
    case present(code: String)
    /// `code=a,b`: any of the alternatives (R4 search: "OR" search parameters).
    case anyOf([FHIRCriterion])
    /// No value of the resource meets the condition, or it has none (R4
    /// search `:not`, `:missing=true`); at the top of a search's conditions only.
    indirect case not(FHIRCriterion)
    /// `code:Target.parameter=value` (R4 search §Chained parameters): a
    /// resource the reference parameter `code` names, of `target`, meets the condition.
    indirect case chain(code: String, target: String, FHIRCriterion)
    /// `_has:Type:code:parameter=value` (R4 search §Reverse chaining): a
    /// resource of `type` whose reference parameter `code` names this one
    /// (of type `target`) meets the condition.
    indirect case has(type: String, code: String, target: String, FHIRCriterion)
}

/// How a uri search value meets an indexed uri (R4 search §uri).
public enum URIMatch: String, Sendable, Hashable {
    case exact, below, above
}

/// How a string search value meets an indexed string (R4 search §string).
public enum StringMatch: String, Sendable, Hashable {
    case prefix, contains, exact
}

/// The comparison prefixes of ordered parameters (R4 search §Prefixes).
public enum FHIRSearchPrefix: String, Sendable, Hashable, CaseIterable {
    case eq, ne, gt, lt, ge, le, sa, eb, ap
}

/// The criteria of a conditional interaction: a resource type and every
/// condition it must meet (all of them).
public struct FHIRCriteria: Sendable, Hashable {
    /// The resource types searched: one for a type's search; several, or
    /// none for every type, at system level (R4 search `_type`).
    public var types: [String]
    public var conditions: [FHIRCriterion]

    public init(type: String, conditions: [FHIRCriterion]) {
        types = [type]
        self.conditions = conditions
    }

    public init(types: [String], conditions: [FHIRCriterion]) {
        self.types = types
        self.conditions = conditions
    }

    public var type: String { types.joined(separator: ",") }

    /// A stable text of the criteria (the lock of concurrent conditional creates).
    var key: String { type + "?" + conditions.map { "\($0)" }.sorted().joined(separator: "&") }
}

/// Matching FHIR criteria against the search index (`FHIRSearchProjection`),
/// which holds the latest, not deleted version of every resource.
public struct FHIRSearchStore: Sendable {
    let database: any SQLDatabase

    init(database: any SQLDatabase) {
        self.database = database
    }

    /// Up to `limit` ids (`Type/id`) of the resources meeting the criteria, in id order.
    public func matches(_ criteria: FHIRCriteria, limit: Int) async throws -> [String] {
        let (sql, binds) = Self.query(criteria)
        return try await database.query(sql + " ORDER BY o.object_id LIMIT ?", binds + [.integer(Int64(limit))]).compactMap { $0.string(0) }
    }

    /// `SELECT DISTINCT o.object_id` of the matches.
    static func query(_ criteria: FHIRCriteria) -> (String, [SQLValue]) {
        let (body, binds) = body(criteria)
        return ("SELECT DISTINCT o.object_id " + body, binds)
    }

    /// `FROM … WHERE …` of the matches, `o` one index row of each: the rows
    /// of the most selective condition (`driving`) through the index on
    /// (type, parameter, value) or (type, parameter, date), else each
    /// resource's `_id` row; then one EXISTS per other condition on the
    /// resource's rows. A patient's observations of one code thus start from
    /// that patient's references, not from every Observation.
    static func body(_ criteria: FHIRCriteria) -> (String, [SQLValue]) {
        let table = FHIRSearchProjection.table
        var conditions = criteria.conditions
        var sql = "FROM \(table) o WHERE "
        var binds = criteria.types.map(SQLValue.text)
        switch criteria.types.count {
        case 0: break
        case 1: sql += "o.resource_type = ? AND "
        default: sql += "o.resource_type IN (\(placeholders(criteria.types.count))) AND "
        }
        var leading: String?
        if let index = driving(conditions) {
            let first = conditions.remove(at: index)
            let (match, values) = leadingCondition(first)
            sql += match
            binds += values
            leading = orderedCode(first)
        } else {
            sql += "o.code = '_id'"
        }
        for condition in conditions {
            var positive = condition
            var exists = "EXISTS"
            if case .not(let inner) = condition {
                positive = inner
                exists = "NOT EXISTS"
            }
            let (match, values) = Self.condition(positive)
            let other = " \(exists) (SELECT 1 FROM \(table) s WHERE s.object_id = o.object_id AND \(match))"
            if exists == "EXISTS", let leading, orderedCode(positive) == leading {
                // A range on the parameter that leads (date=ge…&date=lt…): the
                // leading row itself meets it most often, tried before the other rows.
                // A resource with one value for it: that row or none (the rest is for several values).
                let (own, ownValues) = Self.condition(positive, "o")
                sql += " AND ((\(own)) OR (o.vals > 1 AND\(other)))"
                binds += ownValues + values
            } else {
                sql += " AND" + other
                binds += values
            }
        }
        return (sql, binds)
    }

    /// The condition the search starts from, on its row `o`: a chain the
    /// other way round (the targets meeting the chained condition first, once,
    /// then the references to them through the index on value) — from the
    /// patient found by an identifier to their observations, rather than from
    /// every observation of a code to each one's patient (189 ms → see
    /// docs/architecture.md §FHIR search).
    static func leadingCondition(_ criterion: FHIRCriterion) -> (String, [SQLValue]) {
        guard case .chain(let code, let target, let inner) = criterion else { return condition(criterion, "o") }
        let (match, binds) = condition(inner, "t")
        return (
            """
            o.code = ? AND o.kind = 'reference' AND o.sys = ? AND o.val IN (SELECT substr(t.object_id, \(target.utf8.count + 2)) \
            FROM \(FHIRSearchProjection.table) t WHERE t.resource_type = ? AND \(match))
            """, [.text(code), .text(target), .text(target)] + binds)
    }

    /// The parameter of a date, number or quantity condition.
    static func orderedCode(_ criterion: FHIRCriterion) -> String? {
        switch criterion {
        case .date(let code, _, _, _), .number(let code, _, _, _, _), .quantity(let code, _, _, _, _, _, _, _): code
        default: nil
        }
    }

    /// The condition the search starts from: the one the index finds the
    /// fewest rows for, by kind (an id or a code before a date range, before
    /// a text prefix); nil when none can lead (only negations or presence).
    static func driving(_ conditions: [FHIRCriterion]) -> Int? {
        func rank(_ criterion: FHIRCriterion) -> Int? {
            switch criterion {
            case .reference(_, _, let id, let url): id != nil || url != nil ? 0 : nil
            // An identifier names one resource, or few: it leads before any other code.
            case .token(let code, _, _, let value): value == nil ? nil : code == "_id" || code == "identifier" ? 0 : 1
            case .uri(_, _, let match): match == .exact ? 1 : match == .below ? 4 : nil
            case .string(_, _, let match): match == .exact ? 1 : match == .prefix ? 4 : nil
            case .text, .near: 4
            case .codes(_, let bySystem): bySystem.isEmpty ? nil : 1
            case .composite(_, let components): components.first.flatMap(rank)
            case .has: 2
            case .chain(_, _, let inner): rank(inner)
            case .date: 3
            case .number, .quantity: 4
            // Alternatives lead as well as the weakest of them (each through the index, OR-ed).
            case .anyOf(let alternatives): alternatives.map(rank).reduce(Optional(0)) { worst, next in next.flatMap { n in worst.map { max($0, n) } } }
            case .present, .not: nil
            }
        }
        return conditions.indices.compactMap { index in rank(conditions[index]).map { (index, $0) } }.min { $0.1 < $1.1 }?.0
    }

    static func condition(_ criterion: FHIRCriterion, _ a: String = "s") -> (String, [SQLValue]) {
        switch criterion {
        case .token(let code, let system, let noSystem, let value):
            var sql = "\(a).code = ?"
            var binds: [SQLValue] = [.text(code)]
            if let value {
                sql += " AND \(a).val = ?"
                binds.append(.text(value))
            }
            if noSystem {
                sql += " AND \(a).sys IS NULL"
            } else if let system {
                sql += " AND \(a).sys = ?"
                binds.append(.text(system))
            }
            return (sql, binds)
        case .string(let code, let text, let match):
            if match == .exact { return ("\(a).code = ? AND \(a).txt = ?", [.text(code), .text(text)]) }
            return ("\(a).code = ? AND \(a).val LIKE ? ESCAPE '\\'", [.text(code), .text((match == .contains ? "%" : "") + likeEscaped(text) + "%")])
        case .reference(let code, let type, let id, let url):
            if let url { return ("\(a).code = ? AND \(a).txt = ?", [.text(code), .text(url)]) }
            guard let type else { return ("\(a).code = ? AND \(a).val = ?", [.text(code), SQLValue(id)]) }
            return ("\(a).code = ? AND \(a).val = ? AND (\(a).sys = ? OR \(a).sys IS NULL)", [.text(code), SQLValue(id), .text(type)])
        case .uri(let code, let value, let match):
            switch match {
            case .exact: return ("\(a).code = ? AND \(a).val = ?", [.text(code), .text(value)])
            case .below: return ("\(a).code = ? AND \(a).val LIKE ? ESCAPE '\\'", [.text(code), .text(likeEscaped(value) + "%")])
            case .above: return ("\(a).code = ? AND substr(?, 1, length(\(a).val)) = \(a).val", [.text(code), .text(value)])
            }
        case .text(let code, let text):
            return ("\(a).code = ? AND \(a).txt LIKE ? ESCAPE '\\'", [.text(code), .text(likeEscaped(text) + "%")])
        case .composite:
            return compositeCondition(criterion, a)
        case .near(let code, let latitude, let longitude, let kilometres):
            // Degrees of latitude per km are constant; of longitude, scaled by the cosine of the latitude.
            let degrees = kilometres / 111.32
            let scale = max(0.01, cos(latitude * .pi / 180))
            return (
                "\(a).code = ? AND \(a).num BETWEEN ? AND ? AND \(a).num_lo BETWEEN ? AND ? "
                    + "AND (\(a).num - ?) * (\(a).num - ?) + (\(a).num_lo - ?) * (\(a).num_lo - ?) * ? <= ?",
                [
                    .text(code), .real(latitude - degrees), .real(latitude + degrees), .real(longitude - degrees / scale), .real(longitude + degrees / scale),
                    .real(latitude), .real(latitude), .real(longitude), .real(longitude), .real(scale * scale), .real(degrees * degrees),
                ])
        case .codes(let code, let bySystem):
            guard !bySystem.isEmpty else { return ("1 = 0", []) }
            var binds: [SQLValue] = [.text(code)]
            let systems = bySystem.keys.sorted().map { system -> String in
                let codes = bySystem[system] ?? []
                binds += (system.isEmpty ? [] : [.text(system)]) + codes.map(SQLValue.text)
                return "(\(a).sys \(system.isEmpty ? "IS NULL" : "= ?") AND \(a).val IN (\(placeholders(codes.count))))"
            }
            return ("\(a).code = ? AND (" + systems.joined(separator: " OR ") + ")", binds)
        case .date(let code, let prefix, let low, let high):
            let (sql, binds) = dateCondition(prefix, low: low, high: high, a)
            return ("\(a).code = ? AND \(a).kind = 'date' AND " + sql, [.text(code)] + binds)
        case .number(let code, let prefix, let value, let low, let high):
            let (sql, binds) = numberCondition(prefix, value: value, low: low, high: high, a)
            return ("\(a).code = ? AND \(a).kind = 'number' AND " + sql, [.text(code)] + binds)
        case .quantity(let code, let prefix, let value, let low, let high, let system, let unit, let canonicalUnit):
            var (sql, binds) = numberCondition(prefix, value: value, low: low, high: high, a, column: canonicalUnit == nil ? "num" : "cnum")
            sql = "\(a).code = ? AND \(a).kind = 'quantity' AND " + sql
            binds.insert(.text(code), at: 0)
            if let canonicalUnit {
                sql += " AND \(a).cunit = ?"
                binds.append(.text(canonicalUnit))
            } else if let system, let unit {
                sql += " AND \(a).sys = ? AND \(a).val = ?"
                binds += [.text(system), .text(unit)]
            } else if let unit {
                sql += " AND (\(a).val = ? OR \(a).txt = ?)"
                binds += [.text(unit), .text(unit)]
            }
            return (sql, binds)
        case .present(let code):
            return ("\(a).code = ?", [.text(code)])
        case .anyOf(let alternatives):
            let parts = alternatives.map { condition($0, a) }
            return ("((" + parts.map(\.0).joined(separator: ") OR (") + "))", parts.flatMap(\.1))
        case .not(let inner):
            // Only at the top of a search (rendered there as NOT EXISTS); nested, it is the condition itself negated.
            let (sql, binds) = condition(inner, a)
            return ("NOT (" + sql + ")", binds)
        case .chain, .has:
            return linkCondition(criterion, a)
        }
    }

    /// Chained and reverse-chained conditions, on the index row `a` of the
    /// resource at this level: a chain follows `a`'s reference to the target's
    /// rows; `_has` finds the rows of resources that refer to `a`'s resource
    /// (its id being what follows `Type/` in `a.object_id`), each level one alias deeper.
    static func linkCondition(_ criterion: FHIRCriterion, _ a: String) -> (String, [SQLValue]) {
        let table = FHIRSearchProjection.table
        let (b, r) = (a + "c", a + "h")
        switch criterion {
        case .chain(let code, let target, let inner):
            let (match, binds) = condition(inner, b)
            return (
                "\(a).code = ? AND \(a).kind = 'reference' AND \(a).sys = ? AND EXISTS (SELECT 1 FROM \(table) \(b) WHERE \(b).object_id = \(a).sys || '/' || \(a).val AND \(match))",
                [.text(code), .text(target)] + binds)
        case .has(let type, let code, let target, let inner):
            let (match, binds) = condition(inner, b)
            return (
                """
                \(a).code = '_id' AND EXISTS (SELECT 1 FROM \(table) \(r) WHERE \(r).resource_type = ? AND \(r).code = ? AND \(r).kind = 'reference' \
                AND \(r).sys = ? AND \(r).val = \(a).val AND (\(r).txt IS NULL OR \(r).txt NOT LIKE '#%') \
                AND EXISTS (SELECT 1 FROM \(table) \(b) WHERE \(b).object_id = \(r).object_id AND \(match)))
                """, [.text(type), .text(code), .text(target)] + binds)
        default:
            return condition(criterion, a)
        }
    }

    /// R4 search §number and §Prefixes: eq within the interval the search
    /// value's precision gives ([low, high)), ne outside it, gt, lt, ge, le
    /// (and sa, eb) against the value itself, ap within 10% of it.
    static func numberCondition(_ prefix: FHIRSearchPrefix, value: Double, low: Double, high: Double, _ a: String, column: String = "num")
        -> (String, [SQLValue])
    {
        let n = "\(a).\(column)"
        switch prefix {
        case .eq: return ("\(n) >= ? AND \(n) < ?", [.real(low), .real(high)])
        case .ne: return ("NOT (\(n) >= ? AND \(n) < ?)", [.real(low), .real(high)])
        case .gt, .sa: return ("\(n) > ?", [.real(value)])
        case .lt, .eb: return ("\(n) < ?", [.real(value)])
        case .ge: return ("\(n) >= ?", [.real(value)])
        case .le: return ("\(n) <= ?", [.real(value)])
        case .ap:
            let margin = abs(value) / 10
            return ("\(n) >= ? AND \(n) <= ?", [.real(value - margin), .real(value + margin)])
        }
    }

    /// `%`, `_` and `\` escaped for a LIKE pattern with `ESCAPE '\'`.
    static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    /// A composite condition on the row `a` of its first component: each
    /// other component a row of the same resource and the same composite
    /// value (`grp`) that meets its condition (R4 search §composite).
    static func compositeCondition(_ criterion: FHIRCriterion, _ a: String) -> (String, [SQLValue]) {
        guard case .composite(_, let components) = criterion, let first = components.first else { return ("1 = 0", []) }
        var (sql, binds) = condition(first, a)
        for (index, component) in components.dropFirst().enumerated() {
            let c = "\(a)k\(index + 1)"
            let (match, values) = condition(component, c)
            sql += " AND EXISTS (SELECT 1 FROM \(FHIRSearchProjection.table) \(c) WHERE \(c).object_id = \(a).object_id AND \(c).grp = \(a).grp AND \(match))"
            binds += values
        }
        return (sql, binds)
    }

    /// R4 search §Prefixes and §date, with the search value's interval
    /// [low, high] and the indexed one [\(a).lo, \(a).hi] (an open end
    /// stored as the smallest or largest BIGINT): eq, the indexed interval
    /// within the search value's; ne, not; gt and lt, the indexed interval
    /// reaches past the search value; ge and le, past it or within it (with
    /// the range that implies first, for the index); sa and eb, wholly after
    /// or before; ap, overlapping the search value widened by a tenth of its
    /// distance from now (at least a day).
    static func dateCondition(_ prefix: FHIRSearchPrefix, low: Int64, high: Int64, _ a: String) -> (String, [SQLValue]) {
        let within = "(\(a).lo >= ? AND \(a).hi <= ?)"
        switch prefix {
        case .eq: return (within, [.integer(low), .integer(high)])
        case .ne: return ("NOT \(within)", [.integer(low), .integer(high)])
        case .gt: return ("\(a).hi > ?", [.integer(high)])
        case .lt: return ("\(a).lo < ?", [.integer(low)])
        case .ge: return ("\(a).hi >= ? AND (\(a).hi > ? OR \(within))", [.integer(low), .integer(high), .integer(low), .integer(high)])
        case .le: return ("\(a).lo <= ? AND (\(a).lo < ? OR \(within))", [.integer(high), .integer(low), .integer(low), .integer(high)])
        case .sa: return ("\(a).lo > ?", [.integer(high)])
        case .eb: return ("\(a).hi < ?", [.integer(low)])
        case .ap:
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            let margin = max(86_400_000_000, abs(now - low) / 10)
            return ("\(a).lo <= ? AND \(a).hi >= ?", [.integer(high + margin), .integer(low - margin)])
        }
    }

    /// The ids (`Type/id`) of the resources meeting the criteria, in the
    /// order of `sort` then id, after the row `after` names (a cursor of a
    /// previous page: a page stays valid while data changes), at most
    /// `limit`, each with the cursor of its own row.
    /// `backward`: the rows before the cursor `after` instead (a previous
    /// page), at most `limit` of them nearest it, still returned in order.
    public func search(_ criteria: FHIRCriteria, sort: [FHIRSortKey] = [], after: String?, backward: Bool = false, limit: Int) async throws
        -> [(id: String, cursor: String)]
    {
        let statement = try Self.statement(criteria, sort: sort, after: after, backward: backward, limit: limit)
        let rows: [(id: String, cursor: String)] = try await database.query(statement.sql, statement.binds).compactMap { row in
            guard let id = row.string(0) else { return nil }
            return (id, sort.isEmpty ? id : FHIRSortPlan.cursor(row, keys: sort.count))
        }
        return backward ? rows.reversed() : rows
    }

    /// The one statement of a search's page: the matches' ids (and sort
    /// keys), in order, after the cursor (before it, nearest first, `backward`), at most `limit`.
    public static func statement(_ criteria: FHIRCriteria, sort: [FHIRSortKey] = [], after: String?, backward: Bool = false, limit: Int) throws
        -> RenderedQuery
    {
        guard !sort.isEmpty else {
            var (sql, binds) = Self.query(criteria)
            if let after {
                sql += " AND o.object_id \(backward ? "<" : ">") ?"
                binds.append(.text(after))
            }
            return RenderedQuery(sql: sql + " ORDER BY o.object_id \(backward ? "DESC" : "ASC") LIMIT ?", binds: binds + [.integer(Int64(limit))])
        }
        let (matches, matchBinds) = Self.body(criteria)
        let (sql, binds) = try FHIRSortPlan(sort).query(matches: matches, binds: matchBinds, after: after, backward: backward, limit: limit)
        return RenderedQuery(sql: sql, binds: binds)
    }

    /// The statement that counts a search's matches (`_total`, `_summary=count`).
    public static func countStatement(_ criteria: FHIRCriteria) -> RenderedQuery {
        let (sql, binds) = Self.query(criteria)
        return RenderedQuery(sql: "SELECT COUNT(*) FROM (\(sql)) matched", binds: binds)
    }

    /// What the database makes of a search statement (an administrator's explain).
    public func plan(of statement: RenderedQuery) async throws -> [String] {
        try await database.plan(of: statement)
    }

    /// A search statement run alone, its rows counted (what `socle bench fhir-search` compares with).
    public func run(_ statement: RenderedQuery) async throws -> Int {
        try await database.query(statement.sql, statement.binds).count
    }

    /// The resources (`Type/id`) that the references of `sources` name
    /// through the parameters `codes` (all of them when nil), of `targetType`
    /// when given (R4 search `_include`); relative references only, each once, in id order.
    public func referenced(from sources: [String], codes: [String]?, targetType: String?) async throws -> [String] {
        guard !sources.isEmpty, codes?.isEmpty != true else { return [] }
        var sql = """
            SELECT DISTINCT s.sys || '/' || s.val FROM \(FHIRSearchProjection.table) s
            WHERE s.kind = 'reference' AND s.sys IS NOT NULL AND s.val IS NOT NULL AND (s.txt IS NULL OR s.txt NOT LIKE '#%')
            AND s.object_id IN (\(Self.placeholders(sources.count)))
            """
        var binds = sources.map(SQLValue.text)
        if let codes {
            sql += " AND s.code IN (\(Self.placeholders(codes.count)))"
            binds += codes.map(SQLValue.text)
        }
        if let targetType {
            sql += " AND s.sys = ?"
            binds.append(.text(targetType))
        }
        return try await database.query(sql + " ORDER BY 1", binds).compactMap { $0.string(0) }
    }

    /// The resources of `type` (any when nil) whose references through the
    /// parameters `codes` (any when nil) name one of `targets` (`Type/id`)
    /// (R4 search `_revinclude`), each once, in id order.
    public func referring(type: String?, codes: [String]?, to targets: [String]) async throws -> [String] {
        guard !targets.isEmpty, codes?.isEmpty != true else { return [] }
        var found: Set<String> = []
        let byType = Dictionary(grouping: targets.compactMap(Self.typeAndID), by: \.type)
        for (targetType, items) in byType {
            let ids = items.map(\.id)
            var sql = """
                SELECT DISTINCT s.object_id FROM \(FHIRSearchProjection.table) s
                WHERE s.kind = 'reference' AND s.sys = ? AND s.val IN (\(Self.placeholders(ids.count))) AND (s.txt IS NULL OR s.txt NOT LIKE '#%')
                """
            var binds = [.text(targetType)] + ids.map(SQLValue.text)
            if let type {
                sql += " AND s.resource_type = ?"
                binds.append(.text(type))
            }
            if let codes {
                sql += " AND s.code IN (\(Self.placeholders(codes.count)))"
                binds += codes.map(SQLValue.text)
            }
            found.formUnion(try await database.query(sql, binds).compactMap { $0.string(0) })
        }
        return found.sorted()
    }

    /// Every reference to `target` (`Type/id`) in the index: which resource,
    /// of which type, through which parameter (a compartment's members are
    /// among them, R4 CompartmentDefinition).
    public func references(to target: String) async throws -> [(objectID: String, type: String, code: String)] {
        let statement = Self.referencesStatement(to: target)
        return try await database.query(statement.sql, statement.binds).map { ($0.string(0) ?? "", $0.string(1) ?? "", $0.string(2) ?? "") }
    }

    /// `Type/id` read apart; nil for anything else.
    static func typeAndID(_ reference: String) -> (type: String, id: String)? {
        let parts = reference.split(separator: "/", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    /// The index rows of references to one `Type/id` (bound in that order), a contained resource's aside.
    static let referenceRows = "kind = 'reference' AND sys = ? AND val = ? AND (txt IS NULL OR txt NOT LIKE '#%')"

    /// The statement of `references(to:)`.
    public static func referencesStatement(to target: String) -> RenderedQuery {
        let (type, id) = typeAndID(target) ?? (target, "")
        return RenderedQuery(
            sql: "SELECT DISTINCT object_id, resource_type, code FROM \(FHIRSearchProjection.table) WHERE \(referenceRows)",
            binds: [.text(type), .text(id)])
    }

    /// Of `objectIDs`, those with a date under one of `codes` (`dated`),
    /// and those with one that overlaps [low, high] (`within`); 500 ids a query.
    public func dates(of objectIDs: [String], codes: [String], low: Int64, high: Int64) async throws -> (dated: Set<String>, within: Set<String>) {
        var (dated, within): (Set<String>, Set<String>) = ([], [])
        guard !codes.isEmpty else { return (dated, within) }
        for start in stride(from: 0, to: objectIDs.count, by: 500) {
            let batch = Array(objectIDs[start..<min(start + 500, objectIDs.count)])
            let rows = try await database.query(
                """
                SELECT object_id, MAX(CASE WHEN hi >= ? AND lo <= ? THEN 1 ELSE 0 END) FROM \(FHIRSearchProjection.table)
                WHERE object_id IN (\(Self.placeholders(batch.count))) AND code IN (\(Self.placeholders(codes.count))) AND kind = 'date'
                GROUP BY object_id
                """, [.integer(low), .integer(high)] + batch.map(SQLValue.text) + codes.map(SQLValue.text))
            for row in rows {
                guard let id = row.string(0) else { continue }
                dated.insert(id)
                if row.int(1) == 1 { within.insert(id) }
            }
        }
        return (dated, within)
    }

    static func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

    /// How many resources meet the criteria.
    public func count(_ criteria: FHIRCriteria) async throws -> Int {
        let statement = Self.countStatement(criteria)
        return Int(try await database.query(statement.sql, statement.binds).first?.int(0) ?? 0)
    }

    /// How many resources the index holds (every live FHIR resource has its `_id` row).
    public func resourceCount() async throws -> Int {
        Int(try await database.query("SELECT COUNT(*) FROM \(FHIRSearchProjection.table) WHERE code = '_id'").first?.int(0) ?? 0)
    }

    /// The resources whose indexed references name `target` (`Type/id`), up to `limit`.
    public func referrers(of target: String, limit: Int) async throws -> [String] {
        guard let (type, id) = Self.typeAndID(target) else { return [] }
        return try await database.query(
            "SELECT DISTINCT object_id FROM \(FHIRSearchProjection.table) WHERE \(Self.referenceRows) ORDER BY object_id LIMIT ?",
            [.text(type), .text(id), .integer(Int64(limit))]
        ).compactMap { $0.string(0) }
    }

    /// References of stored resources that name no stored resource: a
    /// relative `Type/id` whose target is missing or deleted (a `#id` of a
    /// contained resource aside), a `urn:` or a conditional reference left
    /// as written (`Type?criteria`: no `/` or `:` before the `?`, whatever
    /// the criteria hold, URLs included). Up to `limit`, as (resource, reference).
    public func danglingReferences(limit: Int) async throws -> [(resource: String, reference: String)] {
        let table = FHIRSearchProjection.table
        return try await database.query(
            """
            SELECT s.object_id, COALESCE(s.sys || '/' || s.val, s.txt) FROM \(table) s WHERE s.kind = 'reference' AND (
                (s.sys IS NOT NULL AND s.val IS NOT NULL AND (s.txt IS NULL OR s.txt NOT LIKE '#%') AND NOT EXISTS
                    (SELECT 1 FROM \(table) t WHERE t.object_id = s.sys || '/' || s.val AND t.code = '_id'))
                OR s.txt LIKE 'urn:%' OR (s.txt LIKE '%?%' AND s.txt NOT LIKE '%/%?%' AND s.txt NOT LIKE '%:%?%'))
            ORDER BY s.object_id LIMIT ?
            """, [.integer(Int64(limit))]
        ).map { ($0.string(0) ?? "", $0.string(1) ?? "") }
    }

    /// The statements that make a commit fail (`conflict`) when a resource
    /// meeting the criteria exists by then; on PostgreSQL the criteria's
    /// advisory lock first, so that two such commits run one after the other.
    static func noMatchStatements(_ criteria: FHIRCriteria, _ kind: DatabaseKind) -> [SQLStatement] {
        let (sql, binds) = query(criteria)
        var statements: [SQLStatement] = []
        if kind == .postgresql { statements.append(SQLStatement("SELECT pg_advisory_xact_lock(hashtext(?))", [.text(criteria.key)])) }
        statements.append(
            SQLStatement(
                "SELECT 1 WHERE NOT EXISTS (\(sql))", binds,
                mustReturnRow: StoreError(.conflict, "a \(criteria.type) matching the criteria was created meanwhile")))
        return statements
    }
}

extension RenderedQuery {
    /// The values bound to the statement, as JSON (an explain shows them).
    public var boundValues: [JSON] {
        binds.map { value in
            switch value {
            case .null, .blob: nil
            case .integer(let number): .number(String(number))
            case .real(let number): .number(String(number))
            case .text(let text): .string(text)
            }
        }
    }
}
