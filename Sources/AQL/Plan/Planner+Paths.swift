import JSONCore
import OpenEHR

extension PlanBuilder {
    // MARK: Paths (AQL 1.1 §4.3)

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
            return resolveVersion(alias, parts.map(\.attribute), path)
        case .versionedObject(let alias, _):
            switch parts.map(\.attribute) {
            case ["uid", "value"]: return .scalar(.column(alias, .objectID), .text)
            case ["time_created", "value"]: return .scalar(.column(alias, .timeCreated), .timestamp)
            case ["owner_id", "id", "value"]: return .scalar(.column(alias, .ehrID), .text)
            default:
                fail(path.position, "'\(path.variable)\(path.text)' is not supported on VERSIONED_OBJECT: use uid/value, time_created/value or owner_id/id/value")
                return nil
            }
        case .composition(let anchor):
            return resolveComposition(anchor, parts, path)
        case .ehrStatus(let anchor):
            if parts.isEmpty { return .anchor(anchor) }
            guard let steps = unindexedSteps(parts, path, reason: "a predicate inside EHR_STATUS is not supported: EHR_STATUS is read from its stored JSON") else {
                return nil
            }
            if steps == ["uid", "value"] { return .scalar(versionUID(.column(anchor.composition, .objectID), anchor.versionNumber), .text) }
            return .node(base: anchor, hops: [], steps: steps, types: anchor.types)
        case .folder(let anchor):
            if parts.isEmpty { return .anchor(anchor) }
            guard let steps = unindexedSteps(parts, path, reason: "a predicate inside FOLDER is not supported: a folder's attributes are read from its stored JSON") else {
                return nil
            }
            switch steps {
            case ["name", "value"]: return .scalar(.column(anchor.composition, .name), .text)
            case ["archetype_node_id"]: return .scalar(.column(anchor.composition, .nodeID), .text)
            default: return .node(base: anchor, hops: [], steps: steps, types: anchor.types)
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

    /// The attributes of a path into an object read from its stored JSON only
    /// (an EHR_STATUS, a FOLDER, an older version's composition), which has
    /// no index rows for a predicate to match; `reason` refuses one.
    func unindexedSteps(_ parts: [PathPart], _ path: IdentifiedPath, reason: String) -> [String]? {
        guard !parts.contains(where: { $0.predicate != nil }) else {
            fail(path.position, reason)
            return nil
        }
        return parts.map(\.attribute)
    }

    /// `uuid::system::n`.
    func versionUID(_ objectID: PlanExpression, _ version: PlanExpression) -> PlanExpression {
        .concat([objectID, versionSeparator, version])
    }

    /// `::system::`, between a version uid's object id and its number.
    var versionSeparator: PlanExpression { .value(.text("::" + planner.systemID + "::")) }

    func resolveVersion(_ alias: PlanAlias, _ steps: [String], _ path: IdentifiedPath) -> Resolved? {
        switch steps {
        case ["uid", "value"]: return .scalar(versionUID(.column(alias, .objectID), .column(alias, .versionNumber)), .text)
        case ["commit_audit", "time_committed", "value"]: return .scalar(.column(alias, .timeCommitted), .timestamp)
        case ["contribution", "id", "value"]: return .scalar(.column(alias, .contributionID), .text)
        case ["commit_audit", "system_id"]: return .scalar(.column(alias, .systemID), .text)
        // Codes of the openEHR terminology, as the version store keeps them (issue 19 §5).
        case ["commit_audit", "change_type", "defining_code", "code_string"]: return .scalar(.column(alias, .changeType), .text)
        case ["lifecycle_state", "defining_code", "code_string"]: return .scalar(.column(alias, .lifecycleState), .text)
        case ["commit_audit", "description", "value"]: return .scalar(.column(alias, .description), .text)
        case ["preceding_version_uid", "value"]:
            return .scalar(.function(.precedingVersion, [.column(alias, .objectID), versionSeparator, .column(alias, .versionNumber)]), .text)
        default:
            if steps.first == "data" {
                fail(path.position, "select the data of a version through its COMPOSITION variable (VERSION v CONTAINS COMPOSITION c)")
                return nil
            }
            return .version(alias: alias, steps: steps)
        }
    }

    func resolveComposition(_ anchor: Anchor, _ parts: [PathPart], _ path: IdentifiedPath) -> Resolved? {
        let steps = parts.map(\.attribute)
        if parts.isEmpty { return .anchor(anchor) }
        if anchor.allVersions, !(steps == ["uid", "value"]) {
            // Older versions are not in the node index: their attributes are
            // read from each version's stored JSON (issue 19 §5).
            let reason = "under VERSION[ALL_VERSIONS] a path with node predicates is not supported (older versions are not in the node index): use attributes of the composition (c/context/start_time/value, c/name/value) or select c"
            guard unindexedSteps(parts, path, reason: reason) != nil else { return nil }
            return .node(base: anchor, hops: [], steps: steps, types: anchor.types)
        }
        let composition = anchor.composition
        switch steps {
        case ["uid", "value"]: return .scalar(versionUID(.column(composition, .objectID), anchor.versionNumber), .text)
        case ["archetype_details", "template_id", "value"]: return .scalar(.column(composition, .templateID), .text)
        case ["archetype_node_id"], ["archetype_details", "archetype_id", "value"]: return .scalar(.column(composition, .archetypeID), .text)
        case ["composer", "name"]: return .scalar(.column(composition, .composer), .text)
        case ["name", "value"]: return .node(base: anchor, hops: [.compositionRoot], steps: steps, types: ["COMPOSITION"])
        default: return walk(anchor, parts, path)
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
        case ["system_id", "value"]: return .scalar(.column(table, .systemID), .text)
        case ["time_created", "value"]: return .scalar(.column(table, .timeCreated), .timestamp)
        case ["ehr_status", "subject", "external_ref", "id", "value"]: return .scalar(.column(table, .subjectID), .text)
        case ["ehr_status", "subject", "external_ref", "namespace"]: return .scalar(.column(table, .subjectNamespace), .text)
        case ["ehr_status", "is_queryable"]: return .scalar(.column(table, .isQueryable), .boolean)
        case ["ehr_status", "is_modifiable"]: return .scalar(.column(table, .isModifiable), .boolean)
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
        var walk = PathWalk(types: anchor.types)
        for part in parts {
            if !walk.steps.isEmpty {
                if part.predicate != nil { fail(path.position, "a predicate on '\(part.attribute)' is not supported: it is not an indexed node") }
                walk.steps.append(part.attribute)
                continue
            }
            let next = walk.nextTypes(part.attribute)
            // Names are kept on their LOCATABLE's row, not as rows of their own.
            if part.attribute == "name" || next.primitive || next.types.isEmpty {
                if part.predicate != nil { fail(path.position, "a predicate on '\(part.attribute)' is not supported: it is not an indexed node") }
                walk.steps = walk.pending + [part.attribute]
                walk.pending = []
                continue
            }
            let locatable = next.types.allSatisfy { RMSchema.rm110[$0]?.attributes["archetype_node_id"] != nil }
            guard locatable || next.types.allSatisfy({ $0.hasPrefix("DV_") }) else {
                if part.predicate != nil { fail(path.position, "a predicate on '\(part.attribute)' is not supported: it is not an indexed node") }
                walk.pending.append(part.attribute)
                walk.types = next.types
                continue
            }
            guard step(part, locatable: locatable, into: &walk, path) else { return nil }
            walk.types = next.types
            walk.nodeTypes = next.types
        }
        walk.steps = walk.pending + walk.steps
        if !walk.relative.isEmpty || walk.pattern {
            walk.closeHop()
        } else if walk.hops.isEmpty && anchor.node == nil && !walk.steps.isEmpty {
            walk.hops.append(.compositionRoot)
        }
        if walk.hops.isEmpty && walk.steps.isEmpty { return .anchor(anchor) }
        return .node(base: anchor, hops: walk.hops, steps: walk.steps, types: walk.nodeTypes)
    }

    /// One indexed step of a path (a LOCATABLE or a data value), with its predicate.
    func step(_ part: PathPart, locatable: Bool, into walk: inout PathWalk, _ path: IdentifiedPath) -> Bool {
        let through = walk.pending.map { "/" + $0 }.joined()
        walk.pending = []
        switch part.predicate {
        case nil:
            walk.relative += through + (locatable ? "/\(part.attribute)[%]" : "/\(part.attribute)")
            if locatable { walk.pattern = true }
        case .archetype(let id)?:
            walk.hops.append(.root(id))
            walk.relative = ""
            walk.pattern = false
        case .node(let id, let name)?:
            if NodeProjection.isArchetypeRoot(id) {
                if name != nil { fail(path.position, "a name predicate on an archetype root in a path is not supported: use a FROM variable") }
                walk.hops.append(.root(id))
                walk.relative = ""
                walk.pattern = false
            } else if let name {
                guard let value = predicateValue(name, path.position) else { return false }
                walk.closeHop(name: value, extra: through + "/\(part.attribute)[\(id)]")
            } else {
                walk.relative += through + "/\(part.attribute)[\(id)]"
            }
        case .comparison(let namePath, .equal, let value)? where namePath.parts.map(\.attribute) == ["name", "value"]:
            guard let name = predicateValue(value, path.position) else { return false }
            walk.pattern = true
            walk.closeHop(name: name, extra: through + "/\(part.attribute)[%]")
        case let other?:
            fail(path.position, "unsupported predicate [\(other.text)] in a path")
            return false
        }
        return true
    }

    /// Joins the index rows of a path's hops, from its anchor, into `scope`;
    /// returns the last. In the main query a path joined once is reused.
    func materialize(_ base: Anchor, _ hops: [Hop], key pathKey: String?, scope: Scope, left: Bool) -> Anchor {
        // A composition has one root row: every path that needs it (its name,
        // an attribute read from the stored JSON) shares one join.
        var key = pathKey
        if key != nil, hops.count == 1, case .compositionRoot = hops[0] { key = "root of \(base.composition)" }
        if scope === main, let key, let found = joined[key] { return found }
        var anchor = base
        for hop in hops {
            let alias = alias("t")
            var conditions: [PlanCondition] = [.compare(.column(alias, .cid), .equal, anchor.cid)]
            var apath: String?
            var archetype = anchor.archetypeID
            switch hop {
            case .compositionRoot:
                // Its archetype too: the index finds a node by archetype and path (its shape) first.
                conditions += [
                    .compare(.column(alias, .archetypeID), .equal, anchor.archetypeID), .compare(.column(alias, .apath), .equal, .constant(.text(""))),
                    .compare(.column(alias, .num), .equal, .constant(.integer(0))),
                ]
                apath = ""
            case .root(let id):
                if let node = anchor.node, lazyRoots[node] != nil { ensureJoined(node) }
                conditions += [.compare(.column(alias, .archetypeID), .equal, .value(.text(id))), .compare(.column(alias, .apath), .equal, .constant(.text("")))]
                if anchor.node != nil, let numCap = anchor.numCap {
                    conditions += [.compare(.column(alias, .num), .greater, anchor.num), .compare(.column(alias, .num), .lessOrEqual, numCap)]
                }
                apath = ""
                archetype = .value(.text(id))
            case .path(let relative, let pattern, let name):
                conditions.insert(.compare(.column(alias, .archetypeID), .equal, anchor.archetypeID), at: 0)
                if let fixed = anchor.apath {
                    conditions.append(pattern ? .pathMatches(.column(alias, .apath), pattern: fixed + relative) : .compare(.column(alias, .apath), .equal, .value(.text(fixed + relative))))
                    if !pattern { apath = fixed + relative }
                } else {
                    conditions.append(.pathBelow(.column(alias, .apath), base: anchor.apathColumn, relative: relative))
                }
                conditions += rootCondition(alias, below: anchor, scope: scope, left: left)
                if anchor.node != nil, let numCap = anchor.numCap, anchor.apath != "" {
                    conditions += [.compare(.column(alias, .num), .greater, anchor.num), .compare(.column(alias, .num), .lessOrEqual, numCap)]
                }
                if let name { conditions.append(.compare(.column(alias, .name), .equal, name)) }
            }
            scope.add(.node, alias, on: conditions, left: left)
            let isRoot: Bool
            if case .root = hop { isRoot = true } else { isRoot = false }
            anchor = Anchor(
                composition: anchor.composition, cid: .column(alias, .cid), num: .column(alias, .num), numCap: .column(alias, .numCap),
                rootNum: isRoot ? .column(alias, .num) : .column(alias, .rootNum), apath: apath, apathColumn: .column(alias, .apath),
                archetypeID: archetype, types: [], node: alias, version: anchor.version, allVersions: anchor.allVersions)
        }
        if scope === main, let key { joined[key] = anchor }
        return anchor
    }

    /// A path row's archetype root: the anchor's, named by number. A lazy
    /// root (`bindNode`) is named by the first path joined below it instead.
    func rootCondition(_ alias: PlanAlias, below anchor: Anchor, scope: Scope, left: Bool) -> [PlanCondition] {
        guard let node = anchor.node, let root = lazyRoots[node], !root.joined else {
            return [.compare(.column(alias, .rootNum), .equal, anchor.rootNum)]
        }
        if let bound = root.bound { return [.compare(.column(alias, .rootNum), .equal, bound)] }
        if scope === main, !left {
            lazyRoots[node]?.bound = .column(alias, .rootNum)
            return []
        }
        ensureJoined(node)
        return [.compare(.column(alias, .rootNum), .equal, anchor.rootNum)]
    }

    /// The value at `steps` below a path's last index row: the index
    /// column that keeps it, or else the stored canonical JSON of the
    /// version (issue 19 §1). `report` says why neither can (the attribute
    /// is repeated, or an RM object), as a problem of the query.
    func value(
        _ target: Anchor, steps: [String], types: Set<String>, _ path: IdentifiedPath, scope: Scope, report: Bool = true
    ) -> (PlanExpression, LeafKind)? {
        if let found = leaf(target.node, steps: steps, types: types) { return found }
        // Without a node row, the anchor is a document's root (a composition
        // under ALL_VERSIONS, an EHR_STATUS).
        let base = target.node.map { PlanExpression.column($0, .jsonPath) } ?? target.jsonPath
        return stored(target, base: base, steps: steps, types: types, path, scope: scope, report: report)
    }

    /// The stored version of the anchor's composition, joined once per scope
    /// (a LEFT JOIN: the composition itself may be a row that is absent).
    func document(_ target: Anchor, scope: Scope) -> PlanAlias {
        let key = Scope.DocumentKey(composition: target.composition, version: QueryPlan.text(target.versionNumber))
        if let found = scope.documents[key] { return found }
        let alias = alias("d")
        scope.add(
            .document, alias,
            on: [.compare(.column(alias, .objectID), .equal, .column(target.composition, .objectID)), .compare(.column(alias, .versionNumber), .equal, target.versionNumber)],
            left: true)
        scope.documents[key] = alias
        return alias
    }

    /// `steps` read from the stored JSON below `base` (a JSON path; the
    /// document's root when nil), typed by the RM: a String as text, an
    /// Integer or Real as a number, a Boolean as 0/1.
    func stored(
        _ target: Anchor, base: PlanExpression?, steps: [String], types: Set<String>, _ path: IdentifiedPath, scope: Scope, report: Bool = true
    ) -> (PlanExpression, LeafKind)? {
        var current = types
        var primitive: RMSchema.Primitive?
        for (index, step) in steps.enumerated() {
            let definitions = current.compactMap { RMSchema.rm110[$0]?.attributes[step] }
            guard !definitions.isEmpty else {
                if report { fail(path.position, "'\(path.variable)\(path.text)': \(current.sorted().joined(separator: ", ")) has no attribute '\(step)'") }
                return nil
            }
            if definitions.contains(where: \.isList) {
                if report {
                    fail(path.position, "'\(path.variable)\(path.text)' crosses '\(step)', which holds a list and is not indexed: name one item of it with a FROM variable")
                }
                return nil
            }
            primitive = definitions.lazy.compactMap(\.primitive).first { $0 != .object }
            guard primitive == nil || index == steps.count - 1 else {
                if report { fail(path.position, "'\(path.variable)\(path.text)': '\(step)' is a primitive value, with no attribute '\(steps[index + 1])'") }
                return nil
            }
            current = Set(definitions.flatMap { $0.types.flatMap(RMTypeHierarchy.concreteTypes(of:)) })
        }
        let kind: (PlanStoredValue.ValueType, LeafKind)
        switch primitive {
        case .string?: kind = (.text, .text)
        case .integer?, .number?: kind = (.number, .number)
        case .boolean?: kind = (.boolean, .boolean)
        case .object?, nil:
            if report { fail(path.position, "'\(path.variable)\(path.text)' is an RM object (\(current.sorted().joined(separator: ", "))): compare one of its values") }
            return nil
        }
        let below = steps.map { "." + $0 }.joined()
        let jsonPath = base.map { PlanExpression.concat([$0, .value(.text(below))]) } ?? .value(.text("$" + below))
        let value = PlanStoredValue(document: target.document ?? document(target, scope: scope), jsonPath: jsonPath, type: kind.0)
        return (.stored(value), kind.1)
    }

    /// The column a leaf reads, and how it compares.
    func leaf(_ node: PlanAlias?, steps: [String], types: Set<String>) -> (PlanExpression, LeafKind)? {
        guard let node else { return nil }
        if steps.isEmpty { return (.column(node, .numValue), .polymorphic) }
        if planner.values == .stored { return nil }
        if steps == ["archetype_node_id"] { return (.column(node, .nodeID), .text) }
        // The column each possible type keeps the value in (`LeafColumn`); the
        // path is comparable when they agree, and `…/value` of any DATA_VALUE
        // compares on numbers or texts as the other operand asks.
        let columns = Set((steps == ["name", "value"] ? ["LOCATABLE"] : types).compactMap { LeafColumn.column(rmType: $0, steps: steps) })
        guard let column = columns.first else { return nil }
        guard columns.count == 1 || Set(columns.map(\.planColumn)).count == 1 else {
            return steps == ["value"] ? (.column(node, .numValue), .polymorphic) : nil
        }
        let expression = PlanExpression.column(node, column.planColumn)
        switch column {
        case .number, .integer: return (expression, .number)
        case .boolean: return (expression, .boolean)
        case .string where steps == ["value"] && types.isSubset(of: LeafColumn.dates): return (.column(node, .numValue), .date)
        case .name, .string, .code, .terminology, .units: return (expression, .text)
        }
    }

    /// `c/context/start_time/value` compares and sorts on the composition's
    /// own column (its start time, indexed): the time population queries
    /// filter on most. SELECT still reads the value as written.
    func compositionStartTime(_ path: IdentifiedPath, comparing: Bool = false) -> PlanExpression? {
        guard case .composition(let anchor)? = variables[path.variable], !anchor.allVersions, let parts = path.path?.parts,
            parts.map(\.attribute) == ["context", "start_time", "value"], parts.allSatisfy({ $0.predicate == nil })
        else { return nil }
        let column = PlanExpression.column(anchor.composition, .startTime)
        return comparing && !timeWindowDrives ? .notDriving(column) : column
    }

    /// A planner without histograms (SQLite's) cannot tell, given a time
    /// window on the composition and a value condition on an archetyped
    /// path, which is more selective, and a wide window read first costs a
    /// seek per composition in it (measured: 1.25 s against 0.43 s from the
    /// value index, one million compositions, a six-month window). A window
    /// of a week or less may drive; a wider one only filters.
    func decideTimeWindow(_ conjuncts: [Condition]) {
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
}

/// The state of walking one path through the RM.
struct PathWalk {
    /// The types reached so far.
    var types: Set<String>
    /// The types of the last indexed node: what the attributes left below it are read from.
    var nodeTypes: Set<String>
    var hops: [Hop] = []
    /// The path below the last hop, with `[%]` for LOCATABLE steps without a node id.
    var relative = ""
    var pattern = false
    /// Attributes crossed since the last indexed node (EVENT_CONTEXT, PARTY_PROXY …).
    var pending: [String] = []
    /// Attributes below the last indexed node.
    var steps: [String] = []

    init(types: Set<String>) {
        self.types = types
        nodeTypes = types
    }

    mutating func closeHop(name: PlanExpression? = nil, extra: String = "") {
        hops.append(.path(relative + extra, pattern: pattern, name: name))
        relative = ""
        pattern = false
    }

    /// The concrete types an attribute of the current types holds, and
    /// whether it is a primitive.
    func nextTypes(_ attribute: String) -> (types: Set<String>, primitive: Bool) {
        var next: Set<String> = []
        var primitive = false
        for type in types {
            guard let definition = RMSchema.rm110[type]?.attributes[attribute] else { continue }
            if let kind = definition.primitive, kind != .object { primitive = true }
            if definition.primitive == .object { next.formUnion(RMTypeHierarchy.dataValues) }
            for candidate in definition.types { next.formUnion(RMTypeHierarchy.concreteTypes(of: candidate)) }
        }
        return (next, primitive)
    }
}
