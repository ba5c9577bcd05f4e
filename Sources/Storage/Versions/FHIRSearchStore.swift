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
    /// `code=[Type/]id` or an absolute URL; with a version
    /// (`Type/id/_history/v`, a canonical's `url|v`), references to that version only.
    case reference(code: String, type: String?, id: String?, url: String?, version: String? = nil)
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
    /// (of type `target`, of any type when nil) meets the condition.
    indirect case has(type: String, code: String, target: String?, FHIRCriterion)
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
    let projections: Projections

    init(database: any SQLDatabase, projections: Projections) {
        self.database = database
        self.projections = projections
    }

    /// Refuses (`StoreError.rebuilding`, 503) while the index is rebuilt: a
    /// search, a conditional interaction or a referential check would see
    /// only the resources indexed so far. Checked where a request starts
    /// using the index, not at each of its later reads.
    func requireCurrent() async throws {
        try await projections.requireCurrent(FHIRSearchProjection.name)
    }

    /// Up to `limit` ids (`Type/id`) of the resources meeting the criteria, in the index's order (`rid`).
    public func matches(_ criteria: FHIRCriteria, limit: Int) async throws -> [String] {
        try await requireCurrent()
        let statement = try Self.statement(criteria, after: nil, limit: limit)
        return try await database.query(statement.sql, statement.binds).compactMap { $0.string(0) }
    }

    /// `SELECT DISTINCT o.rid` of the matches.
    static func query(_ criteria: FHIRCriteria) -> (String, [SQLValue]) {
        let (body, binds) = FHIRSearchSQL.body(criteria)
        return ("SELECT DISTINCT o.rid " + body, binds)
    }

    /// The ids (`Type/id`) of the resources meeting the criteria, in the
    /// order of `sort` then the index's own (`rid`: creation order, kept
    /// across updates), after the row `after` names (a cursor of a
    /// previous page: a page stays valid while data changes), at most
    /// `limit`, each with the cursor of its own row.
    /// `backward`: the rows before the cursor `after` instead (a previous
    /// page), at most `limit` of them nearest it, still returned in order.
    public func search(_ criteria: FHIRCriteria, sort: [FHIRSortKey] = [], after: String?, backward: Bool = false, limit: Int) async throws
        -> [(id: String, cursor: String)]
    {
        try await requireCurrent()
        let statement = try Self.statement(criteria, sort: sort, after: after, backward: backward, limit: limit)
        let rows: [(id: String, cursor: String)] = try await database.query(statement.sql, statement.binds).compactMap { row in
            guard let id = row.string(0) else { return nil }
            return (id, sort.isEmpty ? String(row.int(1) ?? 0) : FHIRSortPlan.cursor(row, keys: sort.count))
        }
        return backward ? rows.reversed() : rows
    }

    /// The one statement of a search's page: the matches' ids (and sort
    /// keys), in order, after the cursor (before it, nearest first, `backward`), at most `limit`.
    public static func statement(_ criteria: FHIRCriteria, sort: [FHIRSortKey] = [], after: String?, backward: Bool = false, limit: Int) throws
        -> RenderedQuery
    {
        guard sort.isEmpty else {
            let (matches, matchBinds) = FHIRSearchSQL.body(criteria)
            let (sql, binds) = try FHIRSortPlan(sort).query(matches: matches, binds: matchBinds, after: after, backward: backward, limit: limit)
            return RenderedQuery(sql: sql, binds: binds)
        }
        var (sql, binds) = Self.query(criteria)
        if let after {
            guard let rid = Int64(after) else { throw StoreError(.invalidValue, "_page '\(after)' is not a page of this search") }
            sql += " AND o.rid \(backward ? "<" : ">") ?"
            binds.append(.integer(rid))
        }
        let resource = FHIRSearchTable.resource.name
        return RenderedQuery(
            sql: """
                SELECT \(FHIRSearchSQL.objectID("r")), m.rid FROM (\(sql) ORDER BY o.rid \(backward ? "DESC" : "ASC") LIMIT ?) m \
                JOIN \(resource) r ON r.rid = m.rid ORDER BY m.rid \(backward ? "DESC" : "ASC")
                """, binds: binds + [.integer(Int64(limit))])
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

    /// `FROM` the index's references `s` with their resource rows `r`.
    static let referenceRows = "FROM \(FHIRSearchTable.reference.name) s JOIN \(FHIRSearchTable.resource.name) r ON r.rid = s.rid"
    /// Not a contained resource's `#id`.
    static let notLocal = FHIRSearchSQL.notLocal("s")

    /// The resources (`Type/id`) that the references of `sources` name
    /// through the parameters `codes` (all of them when nil), of `targetType`
    /// when given (R4 search `_include`); relative references only, each once, in id order.
    public func referenced(from sources: [String], codes: [String]?, targetType: String?) async throws -> [String] {
        guard !sources.isEmpty, codes?.isEmpty != true else { return [] }
        let (resources, resourceBinds) = FHIRSearchSQL.resources(sources, "r")
        var sql = "SELECT DISTINCT s.ttype || '/' || s.tid \(Self.referenceRows) WHERE s.ttype IS NOT NULL AND s.tid IS NOT NULL AND \(Self.notLocal) AND \(resources)"
        var binds = resourceBinds
        if let codes {
            sql += " AND s.code IN (\(FHIRSearchSQL.placeholders(codes.count)))"
            binds += codes.map(SQLValue.text)
        }
        if let targetType {
            sql += " AND s.ttype = ?"
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
                SELECT DISTINCT \(FHIRSearchSQL.objectID("r")) \(Self.referenceRows)
                WHERE s.tid IN (\(FHIRSearchSQL.placeholders(ids.count))) AND s.ttype = ? AND \(Self.notLocal)
                """
            var binds = ids.map(SQLValue.text) + [.text(targetType)]
            if let type {
                sql += " AND s.type = ?"
                binds.append(.text(type))
            }
            if let codes {
                sql += " AND s.code IN (\(FHIRSearchSQL.placeholders(codes.count)))"
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
        try await requireCurrent()
        let statement = Self.referencesStatement(to: target)
        return try await database.query(statement.sql, statement.binds).map { ($0.string(0) ?? "", $0.string(1) ?? "", $0.string(2) ?? "") }
    }

    /// `Type/id` read apart; nil for anything else.
    static func typeAndID(_ reference: String) -> (type: String, id: String)? {
        let parts = reference.split(separator: "/", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    /// The references to one `Type/id` (bound id, then type), a contained resource's aside.
    static let referencesTo = "s.tid = ? AND s.ttype = ? AND \(FHIRSearchSQL.notLocal("s"))"

    /// The statement of `references(to:)`.
    public static func referencesStatement(to target: String) -> RenderedQuery {
        let (type, id) = typeAndID(target) ?? (target, "")
        return RenderedQuery(
            sql: "SELECT DISTINCT \(FHIRSearchSQL.objectID("r")), s.type, s.code \(referenceRows) WHERE \(referencesTo)", binds: [.text(id), .text(type)])
    }

    /// Of `objectIDs`, those with a date under one of `codes` (`dated`),
    /// and those with one that overlaps [low, high] (`within`); 500 ids a query.
    public func dates(of objectIDs: [String], codes: [String], low: Int64, high: Int64) async throws -> (dated: Set<String>, within: Set<String>) {
        var (dated, within): (Set<String>, Set<String>) = ([], [])
        guard !codes.isEmpty else { return (dated, within) }
        for start in stride(from: 0, to: objectIDs.count, by: 500) {
            let (resources, resourceBinds) = FHIRSearchSQL.resources(Array(objectIDs[start..<min(start + 500, objectIDs.count)]), "r")
            let rows = try await database.query(
                """
                SELECT r.type, r.id, MAX(CASE WHEN d.hi >= ? AND d.lo <= ? THEN 1 ELSE 0 END)
                FROM \(FHIRSearchTable.date.name) d JOIN \(FHIRSearchTable.resource.name) r ON r.rid = d.rid
                WHERE \(resources) AND d.code IN (\(FHIRSearchSQL.placeholders(codes.count)))
                GROUP BY r.type, r.id
                """, [.integer(low), .integer(high)] + resourceBinds + codes.map(SQLValue.text))
            for row in rows {
                guard let type = row.string(0), let id = row.string(1) else { continue }
                dated.insert(type + "/" + id)
                if row.int(2) == 1 { within.insert(type + "/" + id) }
            }
        }
        return (dated, within)
    }

    /// Of `objectIDs` (`Type/id`), those the index holds: the live, not
    /// deleted resources (the index changes in the transaction that commits them); 500 ids a query.
    public func live(_ objectIDs: [String]) async throws -> Set<String> {
        var found: Set<String> = []
        let ids = Array(Set(objectIDs)).sorted()
        for start in stride(from: 0, to: ids.count, by: 500) {
            let (resources, binds) = FHIRSearchSQL.resources(Array(ids[start..<min(start + 500, ids.count)]), "r")
            let rows = try await database.query("SELECT r.type, r.id FROM \(FHIRSearchTable.resource.name) r WHERE \(resources)", binds)
            for row in rows { if let type = row.string(0), let id = row.string(1) { found.insert(type + "/" + id) } }
        }
        return found
    }

    /// How many resources meet the criteria.
    public func count(_ criteria: FHIRCriteria) async throws -> Int {
        try await requireCurrent()
        let statement = Self.countStatement(criteria)
        return Int(try await database.query(statement.sql, statement.binds).first?.int(0) ?? 0)
    }

    /// How many resources the index holds (every live FHIR resource).
    public func resourceCount() async throws -> Int {
        Int(try await database.query("SELECT COUNT(*) FROM \(FHIRSearchTable.resource.name)").first?.int(0) ?? 0)
    }

    /// The resources whose indexed references name `target` (`Type/id`), up to `limit`.
    public func referrers(of target: String, limit: Int) async throws -> [String] {
        guard let (type, id) = Self.typeAndID(target) else { return [] }
        try await requireCurrent()
        return try await database.query(
            "SELECT DISTINCT \(FHIRSearchSQL.objectID("r")) \(Self.referenceRows) WHERE \(Self.referencesTo) ORDER BY 1 LIMIT ?",
            [.text(id), .text(type), .integer(Int64(limit))]
        ).compactMap { $0.string(0) }
    }

    /// References of stored resources that name no stored resource: a
    /// relative `Type/id` whose target is missing or deleted (a `#id` of a
    /// contained resource aside), a `urn:` or a conditional reference left
    /// as written (`Type?criteria`: no `/` or `:` before the `?`, whatever
    /// the criteria hold, URLs included). Up to `limit`, as (resource, reference).
    public func danglingReferences(limit: Int) async throws -> [(resource: String, reference: String)] {
        try await requireCurrent()
        return try await database.query(
            """
            SELECT \(FHIRSearchSQL.objectID("r")), COALESCE(s.ttype || '/' || s.tid, s.url) \(Self.referenceRows) WHERE
                (s.ttype IS NOT NULL AND s.tid IS NOT NULL AND \(Self.notLocal) AND NOT EXISTS
                    (SELECT 1 FROM \(FHIRSearchTable.resource.name) t WHERE t.type = s.ttype AND t.id = s.tid))
                OR s.url LIKE 'urn:%' OR (s.url LIKE '%?%' AND s.url NOT LIKE '%/%?%' AND s.url NOT LIKE '%:%?%')
            ORDER BY 1 LIMIT ?
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
    public var boundValues: [JSON] { binds.map(\.json) }
}
