import FHIR
import Foundation

/// FHIR criteria as SQL over the typed tables of the search index
/// (`FHIRSearchTable`): each condition is a predicate on one row of the
/// table its kind of value lives in (`table(of:)`), aliased by the caller;
/// conditions on other rows of the same resource join by `rid`.
enum FHIRSearchSQL {
    /// The table whose rows a condition is a predicate on: the resource row
    /// for `_id`, presence and reverse chains, which look at the resource itself.
    static func table(of criterion: FHIRCriterion) -> FHIRSearchTable {
        switch criterion {
        case .token(let code, _, _, _): code == "_id" ? .resource : .token
        case .string, .uri, .codes, .text: .token
        case .reference, .chain: .reference
        case .date: .date
        case .number, .quantity, .near: .number
        case .composite(_, let components): components.first.map(table) ?? .resource
        case .present, .has: .resource
        case .anyOf(let alternatives):
            // Alternatives are values of one parameter, so of one table; should they not be, each is tested on the resource.
            Set(alternatives.map(table)).count == 1 ? alternatives.first.map(table) ?? .resource : .resource
        case .not(let inner): table(of: inner)
        }
    }

    /// `FROM … WHERE …` of the matches, `o` one row of each: a row of the
    /// most selective condition (`driving`) through the index on (type,
    /// parameter, value) or (type, parameter, date), else the resource row;
    /// then one EXISTS per other condition on the resource's rows (`rid`).
    /// A patient's observations of one code thus start from that patient's
    /// references, not from every Observation.
    static func body(_ criteria: FHIRCriteria) -> (String, [SQLValue]) {
        var conditions = criteria.conditions
        var leadingTable = FHIRSearchTable.resource
        var leading: (sql: String, binds: [SQLValue])?
        var leadingCode: String?
        if let index = driving(conditions) {
            let first = conditions.remove(at: index)
            leadingTable = table(of: first)
            leading = leadingCondition(first)
            leadingCode = orderedCode(first)
        }
        var terms: [String] = []
        var binds = criteria.types.map(SQLValue.text)
        switch criteria.types.count {
        case 0: break
        case 1: terms.append("o.type = ?")
        default: terms.append("o.type IN (\(placeholders(criteria.types.count)))")
        }
        if let leading {
            terms.append(leading.sql)
            binds += leading.binds
        }
        for other in conditions {
            var positive = other
            var negated = false
            if case .not(let inner) = other { (positive, negated) = (inner, true) }
            let (rows, values) = exists(positive, rid: "o.rid", alias: "s")
            if !negated, let leadingCode, orderedCode(positive) == leadingCode, table(of: positive) == leadingTable {
                // A range on the parameter that leads (date=ge…&date=lt…): the
                // leading row itself meets it most often, tried before the other rows.
                // A resource with one value for it: that row or none (the rest is for several values).
                let (own, ownValues) = condition(positive, "o")
                terms.append("((\(own)) OR (o.vals > 1 AND \(rows)))")
                binds += ownValues + values
            } else {
                terms.append((negated ? "NOT " : "") + rows)
                binds += values
            }
        }
        return ("FROM \(leadingTable.name) o WHERE " + (terms.isEmpty ? "1 = 1" : terms.joined(separator: " AND ")), binds)
    }

    /// `EXISTS` a row of the resource `rid` meeting the condition (the row itself when it is the resource's).
    static func exists(_ criterion: FHIRCriterion, rid: String, alias: String) -> (String, [SQLValue]) {
        let (match, binds) = condition(criterion, alias)
        return ("EXISTS (SELECT 1 FROM \(table(of: criterion).name) \(alias) WHERE \(alias).rid = \(rid) AND \(match))", binds)
    }

    /// The ids of the resources of `type` meeting the condition (`SELECT id …`), driven by the condition's index.
    static func ids(_ criterion: FHIRCriterion, type: String, alias: String) -> (String, [SQLValue]) {
        let (match, binds) = condition(criterion, alias)
        let resource = FHIRSearchTable.resource.name
        guard table(of: criterion) != .resource else { return ("SELECT \(alias).id FROM \(resource) \(alias) WHERE \(alias).type = ? AND \(match)", [.text(type)] + binds) }
        return (
            "SELECT \(alias)r.id FROM \(table(of: criterion).name) \(alias) JOIN \(resource) \(alias)r ON \(alias)r.rid = \(alias).rid WHERE \(alias).type = ? AND \(match)",
            [.text(type)] + binds
        )
    }

    /// The condition the search starts from, on its row `o`: a chain the
    /// other way round (the targets meeting the chained condition first, once,
    /// then the references to them through the index on value) — from the
    /// patient found by an identifier to their observations, rather than from
    /// every observation of a code to each one's patient (189 ms → see
    /// docs/architecture.md §FHIR search).
    /// A reverse chain leads the same way: the referring resources meeting
    /// the condition first, then the targets of their references.
    static func leadingCondition(_ criterion: FHIRCriterion) -> (String, [SQLValue]) {
        switch criterion {
        case .chain(let code, let target, let inner):
            let (targets, binds) = ids(inner, type: target, alias: "t")
            return ("o.code = ? AND o.ttype = ? AND o.tid IN (\(targets)) AND \(notLocal("o"))", [.text(code), .text(target)] + binds)
        case .has(let type, let code, let target, let inner):
            let (match, binds) = condition(inner, "x")
            let referring = """
                FROM \(table(of: inner).name) x JOIN \(FHIRSearchTable.reference.name) h ON h.rid = x.rid \
                WHERE x.type = ? AND \(match) AND h.code = ? AND \(notLocal("h"))
                """
            guard let target else {
                // Any type (a system-level `_list`): the resource's type and id among the references'.
                return ("(o.type, o.id) IN (SELECT h.ttype, h.tid \(referring))", [.text(type)] + binds + [.text(code)])
            }
            return ("o.type = ? AND o.id IN (SELECT h.tid \(referring) AND h.ttype = ?)", [.text(target), .text(type)] + binds + [.text(code), .text(target)])
        default:
            return condition(criterion, "o")
        }
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
            case .reference(_, _, let id, let url, _): id != nil || url != nil ? 0 : nil
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
            // Alternatives lead as well as the weakest of them (each through the index, OR-ed), when they share a table.
            case .anyOf(let alternatives):
                table(of: criterion) == .resource && alternatives.contains(where: { table(of: $0) != .resource })
                    ? nil : alternatives.map(rank).reduce(Optional(0)) { worst, next in next.flatMap { n in worst.map { max($0, n) } } }
            case .present, .not: nil
            }
        }
        return conditions.indices.compactMap { index in rank(conditions[index]).map { (index, $0) } }.min { $0.1 < $1.1 }?.0
    }

    /// The condition as a predicate on the row `a` of its table (`table(of:)`).
    static func condition(_ criterion: FHIRCriterion, _ a: String) -> (String, [SQLValue]) {
        switch criterion {
        case .token(let code, let system, let noSystem, let value):
            if code == "_id" {
                // Ids have no system: `|id` is the id, `system|id` nothing.
                guard noSystem || system == nil else { return ("1 = 0", []) }
                return value.map { ("\(a).id = ?", [.text($0)]) } ?? ("1 = 1", [])
            }
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
            // Exact: the normalised value too, which the index holds.
            if match == .exact { return ("\(a).code = ? AND \(a).val = ? AND \(a).txt = ?", [.text(code), .text(SearchIndexer.normalise(text)), .text(text)]) }
            return ("\(a).code = ? AND \(a).val LIKE ? ESCAPE '\\'", [.text(code), .text((match == .contains ? "%" : "") + likeEscaped(text) + "%")])
        case .reference(let code, let type, let id, let url, let version):
            var (sql, binds): (String, [SQLValue])
            if let url {
                (sql, binds) = ("\(a).code = ? AND \(a).url = ?", [.text(code), .text(url)])
            } else if let type {
                (sql, binds) = ("\(a).code = ? AND \(a).tid = ? AND (\(a).ttype = ? OR \(a).ttype IS NULL)", [.text(code), SQLValue(id), .text(type)])
            } else {
                (sql, binds) = ("\(a).code = ? AND \(a).tid = ?", [.text(code), SQLValue(id)])
            }
            // An id names a resource of the server, not one contained in the referring resource (`#id`).
            if url == nil { sql += " AND \(notLocal(a))" }
            guard let version else { return (sql, binds) }
            return (sql + " AND \(a).ver = ?", binds + [.text(version)])
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
            return nearCondition(code: code, latitude: latitude, longitude: longitude, kilometres: kilometres, a)
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
            return ("\(a).code = ? AND " + sql, [.text(code)] + binds)
        case .number(let code, let prefix, let value, let low, let high):
            let (sql, binds) = numberCondition(prefix, value: value, low: low, high: high, a)
            return ("\(a).code = ? AND " + sql, [.text(code)] + binds)
        case .quantity:
            return quantityCondition(criterion, a)
        case .present(let code):
            // On the resource row: a row of any table under the parameter.
            let tables = FHIRSearchTable.typed.map { "EXISTS (SELECT 1 FROM \($0.name) \(a)p WHERE \(a)p.rid = \(a).rid AND \(a)p.code = ?)" }
            return ("(" + tables.joined(separator: " OR ") + ")", Array(repeating: .text(code), count: tables.count))
        case .anyOf(let alternatives):
            let shared = table(of: criterion) != .resource || alternatives.allSatisfy { table(of: $0) == .resource }
            let parts = alternatives.enumerated().map { index, alternative in
                shared ? condition(alternative, a) : exists(alternative, rid: "\(a).rid", alias: "\(a)o\(index)")
            }
            return ("((" + parts.map(\.0).joined(separator: ") OR (") + "))", parts.flatMap(\.1))
        case .not(let inner):
            // Only at the top of a search (rendered there as NOT EXISTS); nested, it is the condition itself negated.
            let (sql, binds) = condition(inner, a)
            return ("NOT (" + sql + ")", binds)
        case .chain, .has:
            return linkCondition(criterion, a)
        }
    }

    /// Chained and reverse-chained conditions: a chain, on the reference
    /// row `a`, follows it to the target's resource row and its rows; `_has`,
    /// on the resource row `a`, finds the references to it from resources of
    /// the type named and their rows, each level one alias deeper.
    static func linkCondition(_ criterion: FHIRCriterion, _ a: String) -> (String, [SQLValue]) {
        let resource = FHIRSearchTable.resource.name
        let (b, r) = (a + "c", a + "h")
        switch criterion {
        case .chain(let code, let target, let inner):
            let (match, binds) = table(of: inner) == .resource ? condition(inner, b) : exists(inner, rid: "\(b).rid", alias: b + "x")
            return (
                "\(a).code = ? AND \(a).ttype = ? AND \(notLocal(a)) AND EXISTS (SELECT 1 FROM \(resource) \(b) WHERE \(b).type = \(a).ttype AND \(b).id = \(a).tid AND \(match))",
                [.text(code), .text(target)] + binds)
        case .has(let type, let code, let target, let inner):
            let (match, binds) = exists(inner, rid: "\(r).rid", alias: b)
            let references = """
                EXISTS (SELECT 1 FROM \(FHIRSearchTable.reference.name) \(r) WHERE \(r).tid = \(a).id AND \(r).ttype = \(a).type \
                AND \(r).type = ? AND \(r).code = ? AND \(notLocal(r)) AND \(match))
                """
            guard let target else { return (references, [.text(type), .text(code)] + binds) }
            return ("\(a).type = ? AND " + references, [.text(target), .text(type), .text(code)] + binds)
        default:
            return condition(criterion, a)
        }
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
            sql += " AND EXISTS (SELECT 1 FROM \(table(of: component).name) \(c) WHERE \(c).rid = \(a).rid AND \(c).grp = \(a).grp AND \(match))"
            binds += values
        }
        return (sql, binds)
    }

    /// `near` (R4 search, Location): within the box the distance spans, then
    /// within the distance. Degrees of latitude per km are constant; of
    /// longitude, scaled by the cosine of the latitude.
    static func nearCondition(code: String, latitude: Double, longitude: Double, kilometres: Double, _ a: String) -> (String, [SQLValue]) {
        let degrees = kilometres / 111.32
        let scale = max(0.01, cos(latitude * .pi / 180))
        return (
            "\(a).code = ? AND \(a).num BETWEEN ? AND ? AND \(a).num_lo BETWEEN ? AND ? "
                + "AND (\(a).num - ?) * (\(a).num - ?) + (\(a).num_lo - ?) * (\(a).num_lo - ?) * ? <= ?",
            [
                .text(code), .real(latitude - degrees), .real(latitude + degrees), .real(longitude - degrees / scale), .real(longitude + degrees / scale),
                .real(latitude), .real(latitude), .real(longitude), .real(longitude), .real(scale * scale), .real(degrees * degrees),
            ])
    }

    /// R4 search §quantity: the number as `numberCondition` compares it (the
    /// canonical value with a canonical unit), and the unit: canonical,
    /// system and code, or code or unit alone.
    static func quantityCondition(_ criterion: FHIRCriterion, _ a: String) -> (String, [SQLValue]) {
        guard case .quantity(let code, let prefix, let value, let low, let high, let system, let unit, let canonicalUnit) = criterion else {
            return condition(criterion, a)
        }
        var (sql, binds) = numberCondition(prefix, value: value, low: low, high: high, a, column: canonicalUnit == nil ? "num" : "cnum")
        sql = "\(a).code = ? AND " + sql
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

    /// `%`, `_` and `\` escaped for a LIKE pattern with `ESCAPE '\'`.
    static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    static func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

    /// `(r.type = ? AND r.id IN (…)) OR …` for object ids (`Type/id`), by type.
    static func resources(_ objectIDs: [String], _ r: String) -> (String, [SQLValue]) {
        var byType: [String: [String]] = [:]
        for (type, id) in objectIDs.compactMap(FHIRSearchStore.typeAndID) { byType[type, default: []].append(id) }
        guard !byType.isEmpty else { return ("1 = 0", []) }
        var binds: [SQLValue] = []
        let parts = byType.keys.sorted().map { type -> String in
            let ids = byType[type] ?? []
            binds += [.text(type)] + ids.map(SQLValue.text)
            return "(\(r).type = ? AND \(r).id IN (\(placeholders(ids.count))))"
        }
        return ("(" + parts.joined(separator: " OR ") + ")", binds)
    }

    /// The reference row `a` is not to a contained resource (`#id`).
    static func notLocal(_ a: String) -> String { "(\(a).url IS NULL OR \(a).url NOT LIKE '#%')" }

    /// A resource row's `Type/id`.
    static func objectID(_ r: String) -> String { "\(r).type || '/' || \(r).id" }
}
