import JSONCore
import OpenEHR

extension Build {
    // MARK: Paths

    /// Binds a path to its variable and walks it through the RM: the
    /// index rows it crosses (`hops`) and the attributes left below the last one.
    func resolve(_ path: IdentifiedPath) -> Resolved? {
        guard let binding = variables[path.variable] else {
            fail(path.position, "unknown variable '\(path.variable)'")
            return nil
        }
        let parts = path.path?.parts ?? []
        if path.predicate != nil { fail(path.position, "a predicate on the variable itself is not supported in a path: put it in FROM") }
        switch binding {
        case .negated:
            fail(path.position, "'\(path.variable)' is declared under NOT CONTAINS: it has no value to select or compare")
            return nil
        case .ehr(let ehr):
            return resolveEHR(ehr, parts.map(\.attribute), path)
        case .version(let alias, _):
            let steps = parts.map(\.attribute)
            if steps == ["uid", "value"] {
                return .scalar("\(alias).object_id || \(Self.quote("::" + compiler.systemID + "::")) || \(alias).version_number", .text)
            }
            if steps == ["commit_audit", "time_committed", "value"] { return .scalar("\(alias).time_committed", .timestamp) }
            if steps == ["contribution", "id", "value"] { return .scalar("\(alias).contribution_id", .text) }
            if steps == ["commit_audit", "system_id"] { return .scalar("\(alias).system_id", .text) }
            if steps.first == "data" {
                fail(path.position, "select the data of a version through its COMPOSITION variable (VERSION v CONTAINS COMPOSITION c)")
                return nil
            }
            return .version(alias: alias, steps: steps)
        case .versionedObject(let alias, _):
            switch parts.map(\.attribute) {
            case ["uid", "value"]: return .scalar("\(alias).object_id", .text)
            case ["time_created", "value"]: return .scalar("\(alias).time_created", .timestamp)
            case ["owner_id", "id", "value"]: return .scalar("\(alias).ehr_id", .text)
            default:
                fail(path.position, "'\(path.variable)\(path.text)' is not supported on VERSIONED_OBJECT: use uid/value, time_created/value or owner_id/id/value")
                return nil
            }
        case .composition(let anchor):
            let steps = parts.map(\.attribute)
            if parts.isEmpty { return .anchor(anchor) }
            if anchor.allVersions, !(steps == ["uid", "value"]) {
                fail(path.position, "under VERSION[ALL_VERSIONS] select the whole composition or its uid: older versions are not in the node index")
                return nil
            }
            switch steps {
            case ["uid", "value"]:
                return .scalar(
                    "\(anchor.composition).object_id || \(Self.quote("::" + compiler.systemID + "::")) || \(anchor.versionNumber)", .text)
            case ["archetype_details", "template_id", "value"]: return .scalar("\(anchor.composition).template_id", .text)
            case ["archetype_node_id"], ["archetype_details", "archetype_id", "value"]: return .scalar("\(anchor.composition).archetype_id", .text)
            case ["composer", "name"]: return .scalar("\(anchor.composition).composer", .text)
            case ["name", "value"]: return .node(base: anchor, hops: [.compositionRoot], steps: steps, types: ["COMPOSITION"])
            default: return walk(anchor, parts, path)
            }
        case .node(let anchor):
            if parts.isEmpty {
                ensureJoined(anchor.node)
                return .anchor(anchor)
            }
            let resolved = walk(anchor, parts, path)
            // Attributes of the variable's own row need that row.
            if case .node(_, let hops, _, _)? = resolved, hops.isEmpty { ensureJoined(anchor.node) }
            if case .anchor? = resolved { ensureJoined(anchor.node) }
            return resolved
        }
    }

    func resolveEHR(_ ehr: EHRBinding, _ steps: [String], _ path: IdentifiedPath) -> Resolved? {
        if steps == ["ehr_id", "value"] || steps == ["ehr_id"] {
            guard let ehrID = ehr.ehrID else {
                fail(path.position, "'\(path.variable)' has no EHR id here")
                return nil
            }
            return .scalar(ehrID, .text)
        }
        guard let table = ehr.table else {
            fail(path.position, "'\(path.text)' is not available here")
            return nil
        }
        switch steps {
        case ["system_id", "value"]: return .scalar("\(table).system_id", .text)
        case ["time_created", "value"]: return .scalar("\(table).time_created", .timestamp)
        case ["ehr_status", "subject", "external_ref", "id", "value"]: return .scalar("\(table).subject_id", .text)
        case ["ehr_status", "subject", "external_ref", "namespace"]: return .scalar("\(table).subject_namespace", .text)
        case ["ehr_status", "is_queryable"]: return .scalar("\(table).is_queryable", .boolean)
        case ["ehr_status", "is_modifiable"]: return .scalar("\(table).is_modifiable", .boolean)
        default:
            fail(
                path.position,
                "'\(path.text)' is not supported on EHR: use ehr_id/value, system_id/value, time_created/value, ehr_status/subject/external_ref/id/value or …/namespace, ehr_status/is_queryable, ehr_status/is_modifiable"
            )
            return nil
        }
    }

    /// Walks the path from a variable: archetype roots and node ids become
    /// hops through the index; the first attribute that is neither a
    /// LOCATABLE nor a data value ends the index part.
    func walk(_ anchor: Anchor, _ parts: [PathPart], _ path: IdentifiedPath) -> Resolved? {
        let schema = RMSchema.rm110
        var types = anchor.types
        // The types of the last indexed node: what the attributes left below it are read from.
        var nodeTypes = anchor.types
        var hops: [Hop] = []
        var relative = ""
        var pattern = false
        // Attributes crossed since the last indexed node (EVENT_CONTEXT, PARTY_PROXY …).
        var pending: [String] = []
        var steps: [String] = []
        func closeHop(name: String? = nil, extra: String = "") {
            hops.append(.path(relative + extra, pattern: pattern, name: name))
            relative = ""
            pattern = false
        }
        for part in parts {
            if !steps.isEmpty {
                if part.predicate != nil { fail(path.position, "a predicate on '\(part.attribute)' is not supported: it is not an indexed node") }
                steps.append(part.attribute)
                continue
            }
            var next: Set<String> = []
            var primitive = false
            for type in types {
                guard let attribute = schema[type]?.attributes[part.attribute] else { continue }
                if let kind = attribute.primitive, kind != .object { primitive = true }
                if attribute.primitive == .object { next.formUnion(RMTypeHierarchy.dataValues) }
                for candidate in attribute.types { next.formUnion(RMTypeHierarchy.concreteTypes(of: candidate)) }
            }
            let locatable = !next.isEmpty && next.allSatisfy { schema[$0]?.attributes["archetype_node_id"] != nil }
            let dataValue = !next.isEmpty && next.allSatisfy { $0.hasPrefix("DV_") }
            // Names are kept on their LOCATABLE's row, not as rows of their own.
            let isName = part.attribute == "name"
            if isName || primitive || next.isEmpty {
                if part.predicate != nil { fail(path.position, "a predicate on '\(part.attribute)' is not supported: it is not an indexed node") }
                steps = pending + [part.attribute]
                pending = []
                continue
            }
            if !(locatable || dataValue) {
                if part.predicate != nil { fail(path.position, "a predicate on '\(part.attribute)' is not supported: it is not an indexed node") }
                pending.append(part.attribute)
                types = next
                continue
            }
            let through = pending.map { "/" + $0 }.joined()
            pending = []
            switch part.predicate {
            case nil:
                relative += through + (locatable ? "/\(part.attribute)[%]" : "/\(part.attribute)")
                if locatable { pattern = true }
            case .archetype(let id)?:
                hops.append(.root(id))
                relative = ""
                pattern = false
            case .node(let id, let name)?:
                if NodeProjection.isArchetypeRoot(id) {
                    if name != nil { fail(path.position, "a name predicate on an archetype root in a path is not supported: use a FROM variable") }
                    hops.append(.root(id))
                    relative = ""
                    pattern = false
                } else if let name {
                    guard let text = predicateText(name, path.position) else { return nil }
                    closeHop(name: text, extra: through + "/\(part.attribute)[\(id)]")
                } else {
                    relative += through + "/\(part.attribute)[\(id)]"
                }
            case .comparison(let namePath, .equal, let value)? where namePath.parts.map(\.attribute) == ["name", "value"]:
                guard let text = predicateText(value, path.position) else { return nil }
                pattern = true
                closeHop(name: text, extra: through + "/\(part.attribute)[%]")
            case let other?:
                fail(path.position, "unsupported predicate [\(other.text)] in a path")
                return nil
            }
            types = next
            nodeTypes = next
        }
        steps = pending + steps
        if !relative.isEmpty || pattern {
            closeHop()
        } else if hops.isEmpty && anchor.node == nil && !steps.isEmpty {
            hops.append(.compositionRoot)
        }
        if hops.isEmpty && steps.isEmpty { return .anchor(anchor) }
        return .node(base: anchor, hops: hops, steps: steps, types: nodeTypes)
    }

    /// Joins the index rows of a path's hops, from its anchor, into `scope`;
    /// returns the last. In the main query a path joined once is reused.
    func materialize(_ base: Anchor, _ hops: [Hop], key: String?, scope: Scope, left: Bool) -> Anchor {
        if scope === main, let key, let found = joined[key] { return found }
        var anchor = base
        for hop in hops {
            let alias = alias("t")
            // A lazy root (`bindNode`) is named by the first path joined below it.
            var rootNum = anchor.rootNum
            var bindsRoot: String?
            if let node = anchor.node, let root = lazyRoots[node], !root.joined {
                if case .path = hop, let bound = root.bound {
                    rootNum = bound
                } else if case .path = hop, scope === main, !left {
                    bindsRoot = node
                } else {
                    ensureJoined(node)
                }
            }
            var conditions = ["\(alias).cid = \(anchor.cid)"]
            var apath: String?
            var archetype = anchor.archetypeID
            switch hop {
            case .compositionRoot:
                conditions += ["\(alias).apath = ''", "\(alias).num = 0"]
                apath = ""
            case .root(let id):
                conditions += ["\(alias).archetype_id = \(Self.quote(id))", "\(alias).apath = ''"]
                if anchor.node != nil, let numCap = anchor.numCap { conditions += ["\(alias).num > \(anchor.num)", "\(alias).num <= \(numCap)"] }
                apath = ""
                archetype = Self.quote(id)
            case .path(let relative, let pattern, let name):
                conditions.insert("\(alias).archetype_id = \(anchor.archetypeID)", at: 0)
                let wanted: String
                if let fixed = anchor.apath {
                    wanted = Self.quote(fixed + relative)
                    if !pattern { apath = fixed + relative }
                } else {
                    wanted = "\(anchor.apathColumn) || \(Self.quote(relative))"
                }
                if pattern {
                    conditions.append(likeCondition("\(alias).apath", wanted, fixed: anchor.apath.map { $0 + relative }))
                } else {
                    conditions.append("\(alias).apath = \(wanted)")
                }
                if let node = bindsRoot {
                    lazyRoots[node]?.bound = "\(alias).root_num"
                } else {
                    conditions.append("\(alias).root_num = \(rootNum)")
                }
                if anchor.node != nil, let numCap = anchor.numCap, anchor.apath != "" {
                    conditions += ["\(alias).num > \(anchor.num)", "\(alias).num <= \(numCap)"]
                }
                if let name { conditions.append("\(alias).name = \(name)") }
            }
            scope.add("aql_node", alias, on: conditions, left: left)
            let isRoot: Bool
            if case .root = hop { isRoot = true } else { isRoot = false }
            anchor = Anchor(
                composition: anchor.composition, cid: "\(alias).cid", num: "\(alias).num", numCap: "\(alias).num_cap",
                rootNum: isRoot ? "\(alias).num" : "\(alias).root_num", apath: apath, apathColumn: "\(alias).apath", archetypeID: archetype, types: [],
                node: alias, version: anchor.version, allVersions: anchor.allVersions)
        }
        if scope === main, let key { joined[key] = anchor }
        return anchor
    }

    /// A path with unconstrained LOCATABLE steps (`data/events/…`): the
    /// stored path has a node id at each of them.
    func likeCondition(_ column: String, _ wanted: String, fixed: String?) -> String {
        guard let fixed else {
            return "\(column) LIKE \(wanted)"
        }
        // Only `[%]` is a wildcard: escape the rest.
        var pattern = ""
        var index = fixed.startIndex
        while index < fixed.endIndex {
            if fixed[index...].hasPrefix("[%]") {
                pattern += dialect == .sqlite ? "[[]*]" : "[%]"
                index = fixed.index(index, offsetBy: 3)
                continue
            }
            let character = fixed[index]
            if dialect == .sqlite {
                pattern += character == "*" || character == "?" || character == "[" ? "[\(character)]" : String(character)
            } else {
                pattern += character == "%" || character == "_" || character == "\\" ? "\\\(character)" : String(character)
            }
            index = fixed.index(after: index)
        }
        return dialect == .sqlite ? "\(column) GLOB \(Self.quote(pattern))" : "\(column) LIKE \(Self.quote(pattern))"
    }

    /// The column a leaf reads, and how it compares.
    func leaf(_ node: String?, steps: [String], types: Set<String>) -> (String, LeafKind)? {
        guard let node else { return nil }
        if steps.isEmpty { return ("\(node).num_value", .polymorphic) }
        // The column each possible type keeps the value in (`LeafColumn`); the
        // path is comparable when they agree, and `…/value` of any DATA_VALUE
        // compares on numbers or texts as the other operand asks.
        let columns = Set((steps == ["name", "value"] ? ["LOCATABLE"] : types).compactMap { LeafColumn.column(rmType: $0, steps: steps) })
        guard let column = columns.first else { return nil }
        guard columns.count == 1 || Set(columns.map(\.sqlName)).count == 1 else {
            return steps == ["value"] ? ("\(node).num_value", .polymorphic) : nil
        }
        let sql = "\(node).\(column.sqlName)"
        switch column {
        case .number, .integer: return (sql, .number)
        case .boolean: return (sql, .boolean)
        case .string where steps == ["value"] && types.isSubset(of: LeafColumn.dates): return ("\(node).num_value", .date)
        case .name, .string, .code, .terminology, .units: return (sql, .text)
        }
    }

    /// `c/context/start_time/value` compares and sorts on the composition's
    /// own column (`aql_composition.start_time`, indexed): the time population
    /// queries filter on most. SELECT still reads the value as written.
    func compositionStartTime(_ path: IdentifiedPath, comparing: Bool = false) -> String? {
        guard case .composition(let anchor)? = variables[path.variable], !anchor.allVersions, let parts = path.path?.parts,
            parts.map(\.attribute) == ["context", "start_time", "value"], parts.allSatisfy({ $0.predicate == nil })
        else { return nil }
        // `+` keeps SQLite from driving the query by a wide time window (see `timeWindowDrives`).
        return (comparing && !timeWindowDrives ? "+" : "") + "\(anchor.composition).start_time"
    }

    /// SQLite's planner has no histograms: given a time window on the
    /// composition and a value condition on an archetyped path, it cannot
    /// tell which is more selective, and a wide window read first costs a
    /// seek per composition in it (measured: 1.25 s against 0.43 s from the
    /// value index, one million compositions, a six-month window). A window
    /// of a week or less still drives; a wider one only filters.
    func decideTimeWindow(_ conjuncts: [Condition]) {
        guard dialect == .sqlite else { return }
        var lower: Int64?
        var upper: Int64?
        var valueCondition = false
        for conjunct in conjuncts {
            guard case .comparison(let a, let op, let b) = conjunct else { continue }
            var time: (ComparisonOperator, Int64)?
            if case .path(let path) = a, compositionStartTime(path) != nil, let value = constantTime(b) {
                time = (op, value)
            } else if case .path(let path) = b, compositionStartTime(path) != nil, let value = constantTime(a) {
                time = (op.mirrored, value)
            } else if (a.paths + b.paths).contains(where: { if case .node? = variables[$0.variable] { true } else { false } }) {
                valueCondition = true
            }
            switch time {
            case (.greater, let value)?, (.greaterOrEqual, let value)?: lower = max(lower ?? value, value)
            case (.less, let value)?, (.lessOrEqual, let value)?: upper = min(upper ?? value, value)
            case (.equal, _)?: return
            default: break
            }
        }
        if valueCondition, !(lower != nil && upper != nil && upper! - lower! <= 7 * 86_400_000_000) { timeWindowDrives = false }
    }

    func constantTime(_ terminal: Terminal) -> Int64? {
        let text: String?
        switch terminal {
        case .literal(.string(let value)): text = value
        case .parameter(let name): text = parameters[name]?.stringValue
        case .function(let call): text = constantFunction(call)?.stringValue
        default: text = nil
        }
        return text.flatMap(ISODateTime.init)?.microsecondsSinceEpoch
    }

    /// Order keys for a path: the leaf's column, or a node's number then text.
    func orderKeys(_ path: IdentifiedPath) -> [String] {
        if let time = compositionStartTime(path) { return [time] }
        guard let resolved = resolve(path) else { return [] }
        switch resolved {
        case .scalar(let sql, _): return [sql]
        case .anchor(let anchor):
            guard let node = anchor.node else { return ["\(anchor.composition).cid"] }
            return ["\(node).num_value", "\(node).str_value"]
        case .node(let base, let hops, let steps, let types):
            let target = materialize(base, hops, key: path.key, scope: main, left: true)
            guard let (column, kind) = leaf(target.node, steps: steps, types: types) else {
                fail(path.position, "'\(path.text)' cannot be ordered by: it is not an indexed value")
                return []
            }
            if kind == .polymorphic, let node = target.node { return ["\(node).num_value", "\(node).str_value"] }
            return [column]
        case .version:
            fail(path.position, "'\(path.text)' cannot be ordered by")
            return []
        }
    }

    // MARK: Aggregates

    func renderAggregate(_ aggregate: Aggregate) -> (String, ScalarType)? {
        let function = aggregate.function.rawValue
        guard let path = aggregate.path else { return ("COUNT(*)", .integer) }
        guard let resolved = resolve(path) else { return nil }
        let distinct = aggregate.distinct ? "DISTINCT " : ""
        var column: String
        var type: ScalarType
        switch resolved {
        case .scalar(let sql, let scalarType):
            column = sql
            type = scalarType
        case .anchor(let anchor):
            // A node is identified by its composition and its number.
            column = anchor.node.map { "\(anchor.composition).cid || ':' || \($0).num" } ?? "\(anchor.composition).cid"
            type = .integer
        case .node(let base, let hops, let steps, let types):
            let target = materialize(base, hops, key: path.key, scope: main, left: true)
            guard let (leafColumn, kind) = leaf(target.node, steps: steps, types: types) else {
                fail(path.position, "'\(path.text)' cannot be aggregated: it is not an indexed value")
                return nil
            }
            column = leafColumn
            type = kind == .date ? .timestamp : kind == .text ? .text : .number
        case .version(let alias, _):
            column = "\(alias).version_number"
            type = .integer
        }
        switch aggregate.function {
        case .count: return ("COUNT(\(distinct)\(column))", .integer)
        case .min, .max: return ("\(function)(\(distinct)\(column))", type)
        case .sum, .avg:
            if type == .text || type == .timestamp {
                fail(path.position, "\(function) needs numbers: '\(path.text)' is not numeric")
                return nil
            }
            return ("\(function)(\(distinct)\(column))", .number)
        }
    }
}

extension IdentifiedPath {
    /// The path as written, without its variable: `/data[at0001]/…`.
    var text: String {
        (predicate.map { "[\($0.text)]" } ?? "") + (path.map { "/" + $0.parts.map(\.text).joined(separator: "/") } ?? "")
    }

    /// The path with its variable: what identifies a joined target.
    var key: String { variable + text }
}

extension PathPart {
    var text: String { attribute + (predicate.map { "[\($0.text)]" } ?? "") }
}

extension Predicate {
    var text: String {
        switch self {
        case .archetype(let id): id
        case .node(let id, let name): id + (name.map { ", " + $0.text } ?? "")
        case .parameter(let name): "$" + name
        case .comparison(let path, let op, let value): path.parts.map(\.text).joined(separator: "/") + op.rawValue + value.text
        case .and(let a, let b): a.text + " and " + b.text
        case .or(let a, let b): a.text + " or " + b.text
        }
    }
}

extension PredicateValue {
    var text: String {
        switch self {
        case .literal(let literal): literal.text
        case .parameter(let name): "$" + name
        case .code(let code): code
        case .path(let path): path.parts.map(\.text).joined(separator: "/")
        }
    }
}

extension Literal {
    var text: String {
        switch self {
        case .string(let text): "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        case .integer(let value): String(value)
        case .real(let text): text
        case .boolean(let flag): flag ? "true" : "false"
        case .null: "NULL"
        }
    }

    var json: JSON {
        switch self {
        case .string(let text): .string(text)
        case .integer(let value): .number(String(value))
        case .real(let text): .number(text)
        case .boolean(let flag): .bool(flag)
        case .null: .null
        }
    }
}

extension Aggregate {
    var text: String {
        "\(function.rawValue)(\(distinct ? "DISTINCT " : "")\(path.map { $0.variable + $0.text } ?? "*"))"
    }
}

extension FunctionCall {
    var text: String {
        "\(name)(" + arguments.map(\.text).joined(separator: ", ") + ")"
    }
}

extension Terminal {
    var text: String {
        switch self {
        case .literal(let literal): literal.text
        case .parameter(let name): "$" + name
        case .path(let path): path.variable + path.text
        case .function(let call): call.text
        }
    }

    var paths: [IdentifiedPath] {
        switch self {
        case .path(let path): [path]
        case .function(let call): call.arguments.flatMap(\.paths)
        case .literal, .parameter: []
        }
    }
}

extension Condition {
    var paths: [IdentifiedPath] {
        switch self {
        case .not(let inner): inner.paths
        case .and(let a, let b), .or(let a, let b): a.paths + b.paths
        case .exists(let path): [path]
        case .comparison(let a, _, let b): a.paths + b.paths
        case .like(let path, let pattern): [path] + pattern.paths
        case .matches(let path, .values(let values)): [path] + values.flatMap(\.paths)
        case .matches(let path, .terminology): [path]
        }
    }
}
