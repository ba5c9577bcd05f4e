import AQL
import JSONCore
import OpenEHR
import Storage

/// AQL (ITS-REST 1.0.3 §Query, AQL 1.1): parse, check, plan, hand the plan
/// to Storage (which renders it for its engine, with every value bound, and
/// runs it over the node index), and read the RM objects a result column
/// selects from the versions the rows point at.
public struct QueryService: Sendable {
    public let store: Store
    public let systemID: String
    /// The node index's value columns, or the stored JSON (`Planner.ValueSource`).
    public let values: Planner.ValueSource

    public init(store: Store, systemID: String, values: Planner.ValueSource = .index) {
        self.store = store
        self.systemID = systemID
        self.values = values
    }

    var queries: QueryStore { store.queries }

    /// What a client asks: the query, its parameters, paging, and whether to explain.
    public struct Request: Sendable {
        public var q: String
        public var parameters: [String: JSON]
        public var offset: Int?
        public var fetch: Int?
        public var explain: Bool
        /// Set when a stored query runs.
        public var name: String?
        /// The EHRs the caller may read (a token's patient context): the
        /// query reads those only, whatever it says. nil: every EHR.
        public var ehrRestriction: [String]?
        /// Find the EHRs whose rows the result holds (`executeReporting`).
        public var reportingEHRs = false

        public init(q: String, parameters: [String: JSON] = [:], offset: Int? = nil, fetch: Int? = nil, explain: Bool = false, name: String? = nil) {
            self.q = q
            self.parameters = parameters
            self.offset = offset
            self.fetch = fetch
            self.explain = explain
            self.name = name
        }
    }

    /// Parse and check: a query that cannot be answered is refused before it is planned.
    public func check(_ q: String) throws -> Checker.CheckedQuery {
        let query: Query
        do {
            query = try Parser.parse(q)
        } catch {
            if let limit = error.limit {
                throw ServiceError(
                    .badRequest, "the AQL query is refused for its size: \(limit)",
                    problems: [DecodingProblem(path: "line \(error.line), column \(error.column)", message: limit)])
            }
            throw ServiceError(
                .badRequest, "the AQL query has a syntax error at line \(error.line), column \(error.column): found \(error.found), expected \(error.expected)",
                problems: [DecodingProblem(path: "line \(error.line), column \(error.column)", message: "found \(error.found), expected \(error.expected)")])
        }
        do {
            return try Checker().check(query)
        } catch {
            throw Self.semanticError(error)
        }
    }

    static func semanticError(_ error: AQLSemanticError) -> ServiceError {
        ServiceError(
            .badRequest, "the AQL query cannot be answered: " + error.problems.map(\.message).joined(separator: "; "),
            problems: error.problems.map { DecodingProblem(path: "line \($0.position.line), column \($0.position.column)", message: $0.message) })
    }

    /// The checked query with the request's paging applied.
    public func checked(_ request: Request) throws -> Checker.CheckedQuery {
        var checked = try check(request.q)
        if request.fetch != nil || request.offset != nil {
            if checked.query.limit != nil || checked.query.offset != nil || checked.query.select.top != nil {
                throw ServiceError(.badRequest, "the query has LIMIT, OFFSET or TOP: give paging either in the query or as offset and fetch, not both")
            }
            if let fetch = request.fetch, fetch < 0 { throw ServiceError(.badRequest, "fetch must not be negative") }
            if let offset = request.offset, offset < 0 { throw ServiceError(.badRequest, "offset must not be negative") }
            checked.query.limit = request.fetch
            checked.query.offset = request.offset
        }
        return checked
    }

    /// The plan of a request (the statement the service runs first when
    /// `orderedValuesOnly`: see `Planner.plan`).
    public func plan(_ request: Request, orderedValuesOnly: Bool = false) throws -> QueryPlan {
        try plan(try checked(request), parameters: request.parameters, orderedValuesOnly: orderedValuesOnly, request)
    }

    func plan(_ checked: Checker.CheckedQuery, parameters: [String: JSON], orderedValuesOnly: Bool, _ request: Request? = nil) throws -> QueryPlan {
        do {
            return try Planner(systemID: systemID, values: values).plan(
                checked, parameters: parameters, orderedValuesOnly: orderedValuesOnly, restrictedTo: request?.ehrRestriction,
                reportingEHRs: request?.reportingEHRs ?? false)
        } catch {
            throw Self.semanticError(error)
        }
    }

    /// Runs the query; the result set of ITS-REST 1.0.3 (RESULT_SET).
    public func execute(_ request: Request) async throws -> JSON {
        try await executeReporting(request).result
    }

    /// Runs the query, and with `reportingEHRs`, says which EHRs the rows
    /// returned came from (nil for a grouped or DISTINCT query, whose rows
    /// are no one's in particular).
    public func executeReporting(_ request: Request) async throws -> (result: JSON, ehrIDs: [String]?) {
        // Parsed and checked once; planned once, or twice for a page of the highest values.
        let checked = try checked(request)
        var plan = try plan(checked, parameters: request.parameters, orderedValuesOnly: false, request)
        var rows: [[ResultValue]]
        do {
            // A page of the highest values: try the rows that have them first (see
            // `Planner.plan`); when they fill the page, that is the page.
            if let limit = plan.limit, !plan.distinctAfterRead, Self.ordersByValuesDescending(checked.query) {
                let valuesFirst = try self.plan(checked, parameters: request.parameters, orderedValuesOnly: true, request)
                rows = try await store.aql.run(valuesFirst)
                if rows.count == limit || valuesFirst == plan {
                    plan = valuesFirst
                } else {
                    rows = try await store.aql.run(plan)
                }
            } else {
                rows = try await store.aql.run(plan)
            }
        } catch let error as StoreError {
            throw ServiceError(error)
        }
        var reader = ResultReader(store: store.versions, systemID: systemID)
        try await reader.loadDocuments(for: rows, columns: plan.columns)
        var output: [JSON] = rows.map { row in .array(plan.columns.map { reader.value($0.value, row) }) }
        if plan.distinctAfterRead {
            var seen: Set<[UInt8]> = []
            output = output.filter { seen.insert(JSONSerializer.bytes($0)).inserted }
            output = Array(output.dropFirst(plan.offset))
            if let limit = plan.limit { output = Array(output.prefix(limit)) }
        }
        var meta = JSONObject([
            ("_type", "RESULTSET"), ("_schema_version", "1.0.3"), ("_created", .string(ISODateTime.now().description)), ("_generator", "Socle"),
            ("_executed_aql", .string(request.q)), ("resultsize", .number(String(output.count))),
        ])
        if let offset = request.offset { meta["offset"] = .number(String(offset)) }
        if let fetch = request.fetch { meta["fetch"] = .number(String(fetch)) }
        if request.explain { meta["_explain"] = try await explanation(plan) }
        var result = JSONObject([("meta", .object(meta))])
        if let name = request.name { result["name"] = .string(name) }
        result["q"] = .string(request.q)
        result["columns"] = .array(plan.columns.map { ["name": .string($0.name), "path": .string($0.path)] })
        result["rows"] = .array(output)
        let ehrIDs = plan.ehrSelection.map { selection in
            var seen: [String] = []
            for row in rows {
                if case .scalar(.text(let id)) = row[selection], !seen.contains(id) { seen.append(id) }
            }
            return seen
        }
        return (.object(result), ehrIDs)
    }

    /// `explain=true`: the plan, the SQL it renders to with its bound values,
    /// and the database's own plan of that SQL.
    func explanation(_ plan: QueryPlan) async throws -> JSON {
        let explained = try await store.aql.explain(plan)
        return [
            "dialect": .string(store.kind.rawValue),
            "plan": .array(plan.description.split(separator: "\n").map { .string(String($0)) }),
            "bindings": .array(plan.bindings.map(JSON.string)),
            "sql": .string(explained.sql),
            "parameters": .array(explained.parameters.map(ResultReader.json)),
            "database_plan": .array(explained.databasePlan.map(JSON.string)),
        ]
    }

    /// Every ORDER BY key descending, and no aggregate: absent values come last.
    public static func ordersByValuesDescending(_ query: Query) -> Bool {
        !query.orderBy.isEmpty && query.orderBy.allSatisfy(\.descending)
            && !query.select.columns.contains { if case .aggregate = $0.expression { true } else { false } }
    }
}

/// Turns result rows into AQL values: scalars as they are, index leaves
/// from the index's values, whole RM objects from the stored versions.
struct ResultReader {
    let store: VersionStore
    let systemID: String
    /// Decoded versions, with their nodes numbered as the index numbers them.
    var documents: [VersionKey: [JSON]] = [:]

    init(store: VersionStore, systemID: String) {
        self.store = store
        self.systemID = systemID
    }

    /// Reads, in one query per batch, the versions whose objects the result needs.
    mutating func loadDocuments(for rows: [[ResultValue]], columns: [OutputColumn]) async throws {
        var wanted: Set<VersionKey> = []
        for row in rows {
            for column in columns {
                guard case .node(let selection, let steps) = column.value, case .node(let node?) = row[selection],
                    steps.isEmpty || Self.leaf(node, steps: steps) == nil
                else { continue }
                wanted.insert(VersionKey(objectID: node.objectID, versionNumber: node.versionNumber))
            }
        }
        guard !wanted.isEmpty else { return }
        for (key, bytes) in try await store.documents(wanted) {
            guard let json = try? JSONParser.parse(bytes) else { continue }
            documents[key] = NodeProjection.nodes(of: json).map(\.value)
        }
    }

    func value(_ output: OutputValue, _ row: [ResultValue]) -> JSON {
        switch output {
        case .constant(let value):
            return value
        case .scalar(let selection, let type):
            guard case .scalar(let value) = row[selection] else { return .null }
            return Self.scalar(value, type)
        case .node(let selection, let steps):
            guard case .node(let node?) = row[selection] else { return .null }
            if !steps.isEmpty, let leaf = Self.leaf(node, steps: steps) { return leaf }
            guard let nodes = documents[VersionKey(objectID: node.objectID, versionNumber: node.versionNumber)], node.num < nodes.count else {
                return .null
            }
            return Self.follow(nodes[node.num], steps)
        case .version(let selection, let steps):
            guard case .version(let record?) = row[selection] else { return .null }
            guard let envelope = try? JSONParser.parse(OriginalVersionJSON.bytes(record, systemID: systemID)) else { return .null }
            var object = envelope.objectValue ?? JSONObject()
            object["data"] = nil
            return Self.follow(.object(object), steps)
        }
    }

    /// Attribute steps into an RM object; through a list, the list of what each item holds.
    static func follow(_ value: JSON, _ steps: [String]) -> JSON {
        var current = value
        for step in steps {
            switch current {
            case .object(let object): current = object[step] ?? .null
            case .array(let items): current = .array(items.map { follow($0, [step]) })
            default: return .null
            }
        }
        return current
    }

    static func scalar(_ value: AQLValue, _ type: ScalarType) -> JSON {
        switch (value, type) {
        case (.null, _): return .null
        case (.integer(let number), .timestamp): return .string(Self.time(number))
        case (.real(let number), .timestamp): return .string(Self.time(Int64(number)))
        case (.integer(let number), .boolean): return .bool(number != 0)
        case (.real(let number), .boolean): return .bool(number != 0)
        case (.integer(let number), _): return .number(String(number))
        case (.real(let number), _): return number.isFinite ? .number(Self.number(number)) : .null
        case (.text(let text), .number), (.text(let text), .integer): return Double(text) != nil ? .number(text) : .string(text)
        case (.text(let text), _): return .string(text)
        }
    }

    /// A bound value as `explain` shows it.
    static func json(_ value: AQLValue) -> JSON {
        switch value {
        case .null: .null
        case .integer(let number): .number(String(number))
        case .real(let number): number.isFinite ? .number(Self.number(number)) : .null
        case .text(let text): .string(text)
        }
    }

    /// ISO 8601, without a fraction of a second when there is none.
    static func time(_ microseconds: Int64) -> String {
        let text = ISODateTime(microsecondsSinceEpoch: microseconds).description
        return text.hasSuffix(".000000Z") ? String(text.dropLast(8)) + "Z" : text
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A leaf read from the values the index keeps of the node, or nil when
    /// the value must come from the version itself.
    static func leaf(_ node: NodeReference, steps: [String]) -> JSON? {
        guard let leaf = node.leaf, let column = LeafColumn.column(rmType: leaf.rmType, steps: steps) else { return nil }
        func text(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
        switch column {
        case .name: return text(leaf.name)
        case .number, .integer: return leaf.number.map { .number(Self.number($0)) } ?? .null
        case .boolean: return leaf.number.map { .bool($0 == 1) } ?? .null
        case .string: return text(leaf.string)
        case .code: return text(leaf.code)
        case .terminology: return text(leaf.terminology)
        case .units: return text(leaf.units)
        }
    }
}

// MARK: Stored queries (ITS-REST 1.0.3 §Definitions, stored query)

extension QueryService {
    /// PUT /definition/query/{qualified_name}/{version}: the query must parse
    /// and check; a stored version is never replaced (409).
    public func store(qualifiedName: String, version: String?, q: String) async throws -> StoredQueryRecord {
        try Self.requireQualifiedName(qualifiedName)
        let existing = try await queries.list(qualifiedName)
        let chosen: String
        if let version {
            guard Self.semver(version) != nil else {
                throw ServiceError(.badRequest, "'\(version)' is not a version: use MAJOR.MINOR.PATCH, as 1.0.0")
            }
            chosen = version
        } else {
            // No version: the next patch of the latest, or 1.0.0.
            let latest = existing.compactMap { Self.semver($0.version) }.max { $0.lexicographicallyPrecedes($1) }
            chosen = latest.map { "\($0[0]).\($0[1]).\($0[2] + 1)" } ?? "1.0.0"
        }
        _ = try check(q)
        let record = StoredQueryRecord(qualifiedName: qualifiedName, version: chosen, queryType: "AQL", q: q, savedAt: ISODateTime.now().microsecondsSinceEpoch)
        try await queries.insert(record)
        return record
    }

    /// The versions of a query (or of every query when the name is nil).
    public func definitions(qualifiedName: String?) async throws -> [StoredQueryRecord] {
        if let qualifiedName { try Self.requireQualifiedName(qualifiedName) }
        return try await queries.list(qualifiedName)
    }

    /// One version: exact (`1.2.0`), or the latest matching a prefix (`1`, `1.2`), or the latest.
    public func definition(qualifiedName: String, version: String?) async throws -> StoredQueryRecord {
        try Self.requireQualifiedName(qualifiedName)
        let all = try await queries.list(qualifiedName)
        let matching = all.filter { record in
            guard let version else { return true }
            return record.version == version || record.version.hasPrefix(version + ".")
        }
        guard let record = matching.max(by: { (Self.semver($0.version) ?? []).lexicographicallyPrecedes(Self.semver($1.version) ?? []) }) else {
            throw ServiceError(.notFound, "there is no stored query \(qualifiedName)\(version.map { " version \($0)" } ?? "")")
        }
        return record
    }

    public func deleteDefinition(qualifiedName: String, version: String) async throws {
        try Self.requireQualifiedName(qualifiedName)
        try await queries.delete(qualifiedName: qualifiedName, version: version)
    }

    public static func json(_ record: StoredQueryRecord) -> JSON {
        [
            "name": .string(record.qualifiedName), "type": .string(record.queryType), "version": .string(record.version),
            "saved": .string(ISODateTime(microsecondsSinceEpoch: record.savedAt).description), "q": .string(record.q),
        ]
    }

    static func semver(_ text: String) -> [Int]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        return parts.map { $0! }
    }

    /// `namespace::name` (ITS-REST: a reverse domain name, then the query's name).
    static func requireQualifiedName(_ name: String) throws {
        let parts = name.components(separatedBy: "::")
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(allowed.contains) }) else {
            throw ServiceError(
                .badRequest, "'\(name)' is not a qualified query name: write namespace::name (letters, digits, '.', '_', '-', '/'), as org.example::blood_pressure")
        }
        // ITS-REST development §Qualified query name (SPECITS-46): `aql` is reserved, whatever its case.
        if parts[1].lowercased() == "aql" {
            throw ServiceError(.badRequest, "'\(name)': the query name 'aql' is reserved (it names the ad-hoc query endpoint)")
        }
    }
}
