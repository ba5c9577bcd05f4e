import JSONCore
import OpenEHR

extension PlanBuilder {
    // MARK: FROM (AQL 1.1 §4.4)

    /// EHR variables whose paths need the EHR table (anything but `ehr_id/value`).
    func ehrVariablesNeedingTable() -> Set<String> {
        var names: Set<String> = []
        for path in allPaths() where checked.variables[path.variable]?.rmType == "EHR" {
            let steps = path.path?.parts.map(\.attribute) ?? []
            if steps != ["ehr_id", "value"] && !steps.isEmpty { names.insert(path.variable) }
        }
        return names
    }

    func allPaths() -> [IdentifiedPath] {
        var paths: [IdentifiedPath] = []
        for column in query.select.columns {
            switch column.expression {
            case .path(let path): paths.append(path)
            case .aggregate(let aggregate): if let path = aggregate.path { paths.append(path) }
            case .function(let call): paths += call.arguments.flatMap(\.paths)
            case .literal: break
            }
        }
        if let condition = query.condition { paths += condition.paths }
        paths += query.orderBy.map(\.path)
        return paths
    }

    func bindFrom(_ expression: ContainsExpression, parent: Binding?, scope: Scope, left: Bool, needsTable: Set<String>) {
        switch expression {
        case .and(let a, let b):
            bindFrom(a, parent: parent, scope: scope, left: left, needsTable: needsTable)
            bindFrom(b, parent: parent, scope: scope, left: left, needsTable: needsTable)
        case .or(let a, let b):
            let before = scope.sources.count
            bindFrom(a, parent: parent, scope: scope, left: true, needsTable: needsTable)
            let firstBranch = presence(scope, from: before)
            let middle = scope.sources.count
            bindFrom(b, parent: parent, scope: scope, left: true, needsTable: needsTable)
            let secondBranch = presence(scope, from: middle)
            if before == 0 {
                fail(a.position, "OR between the outermost FROM classes is not supported: put them under a common container (EHR e CONTAINS (… OR …))")
            } else {
                scope.conditions.append(.or([firstBranch, secondBranch]))
            }
        case .class(let classExpression, let contains, let negated):
            guard
                let binding = bindClass(
                    classExpression, parent: parent, scope: scope, left: left, needsTable: needsTable, hasChildren: contains != nil)
            else { return }
            if let contains {
                if negated {
                    let sub = Scope()
                    bindFrom(contains, parent: binding, scope: sub, left: false, needsTable: [])
                    markNegated(contains)
                    scope.conditions.append(.notExists(sub.subquery()))
                } else {
                    bindFrom(contains, parent: binding, scope: scope, left: left, needsTable: needsTable)
                }
            }
            if case .ehr(let ehr) = binding { finishEHR(ehr, scope: scope, left: left) }
        }
    }

    /// Whether every table a LEFT JOIN branch introduced (sources from `start`) matched.
    func presence(_ scope: Scope, from start: Int) -> PlanCondition {
        let matched = Array(scope.matched[start...])
        return matched.isEmpty ? .always(true) : .and(matched)
    }

    func markNegated(_ expression: ContainsExpression) {
        switch expression {
        case .and(let a, let b), .or(let a, let b):
            markNegated(a)
            markNegated(b)
        case .class(let classExpression, let contains, _):
            if let name = classExpression.variable { variables[name] = .negated }
            if let contains { markNegated(contains) }
        }
    }

    func bindClass(
        _ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool, needsTable: Set<String>, hasChildren: Bool = false
    ) -> Binding? {
        let name = expression.variable
        let binding: Binding
        if case .ehrStatus? = parent {
            fail(expression.position, "\(expression.rmType) inside EHR_STATUS is not supported: query its attributes by path (s/other_details/…)")
            return nil
        }
        switch expression.rmType {
        case "EHR":
            binding = bindEHR(expression, parent: parent, scope: scope, left: left, needsTable: needsTable)
        case "COMPOSITION":
            let anchor: Anchor
            switch parent {
            case .version(_, let versioned)?, .versionedObject(_, let versioned)?:
                // VERSION v CONTAINS COMPOSITION c: c is the version's own composition.
                anchor = versioned
                switch expression.predicate {
                case .archetype(let id)?, .node(let id, nil)?: scope.conditions.append(.compare(.column(anchor.composition, .archetypeID), .equal, .value(.text(id))))
                case nil: break
                case let other?: fail(expression.position, "unsupported COMPOSITION predicate [\(other.text)]")
                }
            default:
                anchor = bindComposition(expression, parent: parent, scope: scope, left: left)
            }
            binding = .composition(anchor)
            bindings.append("\(name ?? "COMPOSITION"): composition \(anchor.composition)")
        case "VERSION":
            binding = bindVersion(expression, parent: parent, scope: scope, left: left)
        case "EHR_STATUS":
            guard let status = bindEHRStatus(expression, parent: parent, scope: scope, left: left) else { return nil }
            binding = status
        case "FOLDER":
            guard let folder = bindFolder(expression, parent: parent, scope: scope, left: left) else { return nil }
            binding = folder
        case "VERSIONED_OBJECT", "VERSIONED_COMPOSITION":
            let composition = implicitComposition(parent: parent, scope: scope, left: left, position: expression.position)
            let alias = alias("vo")
            scope.add(.versionedObject, alias, on: [.compare(.column(alias, .objectID), .equal, .column(composition.composition, .objectID))], left: left)
            binding = .versionedObject(alias: alias, composition: composition)
            bindings.append("\(name ?? expression.rmType): versioned object \(alias)")
        default:
            let underAllVersions: Bool
            switch parent {
            case .version(_, let composition)?, .composition(let composition)?: underAllVersions = composition.allVersions
            default: underAllVersions = false
            }
            if underAllVersions {
                fail(expression.position, "under VERSION[ALL_VERSIONS] only the composition itself can be contained: older versions are not in the node index")
                return nil
            }
            guard let anchor = bindNode(expression, parent: parent, scope: scope, left: left, hasChildren: hasChildren) else { return nil }
            binding = .node(anchor)
            bindings.append("\(name ?? expression.rmType): node \(anchor.node.map(String.init(describing:)) ?? "")")
        }
        if let name { variables[name] = binding }
        return binding
    }

    func bindEHR(_ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool, needsTable: Set<String>) -> Binding {
        let ehr = EHRBinding(
            needsTable: expression.variable.map(needsTable.contains) ?? false, predicate: expression.predicate, position: expression.position)
        if parent != nil { fail(expression.position, "EHR can only be the outermost class in FROM") }
        if ehr.needsTable {
            let alias = alias("e")
            scope.add(.ehr, alias, on: [], left: left)
            ehr.table = alias
            ehr.ehrID = .column(alias, .ehrID)
        }
        bindings.append("\(expression.variable ?? "EHR"): \(ehr.table.map { "EHR \($0)" } ?? "the EHR id of its compositions")")
        return .ehr(ehr)
    }

    func bindVersion(_ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool) -> Binding {
        let composition = implicitComposition(parent: parent, scope: scope, left: left, position: expression.position)
        let alias = alias("v")
        var conditions: [PlanCondition] = [.compare(.column(alias, .objectID), .equal, .column(composition.composition, .objectID))]
        if expression.versionPredicate != .all {
            conditions.append(.compare(.column(alias, .versionNumber), .equal, .column(composition.composition, .versionNumber)))
        }
        scope.add(.version, alias, on: conditions, left: left)
        if case .standard? = expression.versionPredicate {
            fail(expression.position, "a VERSION predicate other than LATEST_VERSION and ALL_VERSIONS is not supported")
        }
        var versioned = composition
        if expression.versionPredicate == .all {
            versioned.version = .column(alias, .versionNumber)
            versioned.allVersions = true
        }
        bindings.append("\(expression.variable ?? "VERSION"): version \(alias)\(expression.versionPredicate == .all ? " (all versions)" : " (latest)")")
        return .version(alias: alias, composition: versioned)
    }

    /// EHR_STATUS (issue 19 §2): the latest version of the EHR's status
    /// (`ehr.status_object_id`, `versioned_object.latest_version`), contained
    /// in an EHR or alone in FROM; its paths are read from its stored JSON.
    func bindEHRStatus(_ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool) -> Binding? {
        let ehr: EHRBinding
        switch parent {
        case .ehr(let found)?: ehr = found
        case nil: ehr = EHRBinding(needsTable: true, predicate: nil, position: expression.position)
        default:
            fail(expression.position, "EHR_STATUS can only be contained in an EHR")
            return nil
        }
        let table: PlanAlias
        if let existing = ehr.table {
            table = existing
        } else {
            table = alias("e")
            scope.add(.ehr, table, on: ehr.join(table), left: left)
            ehr.table = table
        }
        let versioned = alias("vo")
        scope.add(.versionedObject, versioned, on: [.compare(.column(versioned, .objectID), .equal, .column(table, .statusObjectID))], left: left)
        let version = alias("v")
        scope.add(
            .document, version,
            on: [
                .compare(.column(version, .objectID), .equal, .column(table, .statusObjectID)),
                .compare(.column(version, .versionNumber), .equal, .column(versioned, .latestVersion)),
            ], left: left)
        let anchor = Anchor(
            composition: version, cid: .column(version, .objectID), num: .constant(.integer(0)), numCap: nil, rootNum: .constant(.integer(0)), apath: "",
            apathColumn: .constant(.text("")), archetypeID: .constant(.null), types: ["EHR_STATUS"], node: nil, version: .column(version, .versionNumber),
            document: version)
        switch expression.predicate {
        case nil: break
        case .archetype(let id)?, .node(let id, nil)?:
            let nodeID = PlanExpression.stored(PlanStoredValue(document: version, jsonPath: .value(.text("$.archetype_node_id")), type: .text))
            scope.conditions.append(.compare(nodeID, .equal, .value(.text(id))))
        case let other?:
            fail(expression.position, "unsupported predicate on EHR_STATUS: \(other)")
        }
        bindings.append("\(expression.variable ?? "EHR_STATUS"): EHR_STATUS version \(version)")
        return .ehrStatus(anchor)
    }

    /// FOLDER (issue 19 §2): a folder of an EHR's directory, latest version
    /// (`AQLFolderProjection`), in an EHR, in a folder (at any depth) or alone.
    func bindFolder(_ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool) -> Binding? {
        let folder = alias("f")
        var conditions: [PlanCondition] = []
        switch parent {
        case .ehr(let ehr)?:
            conditions += ehr.join(folder)
        case .folder(let outer)?:
            conditions += [
                .compare(.column(folder, .objectID), .equal, .column(outer.composition, .objectID)),
                .compare(.column(folder, .num), .greater, outer.num), .compare(.column(folder, .num), .lessOrEqual, outer.numCap ?? outer.num),
            ]
        case nil: break
        default:
            fail(expression.position, "FOLDER can only be contained in an EHR or in a FOLDER")
            return nil
        }
        switch expression.predicate {
        case nil: break
        case .archetype(let id)?: conditions.append(.compare(.column(folder, .nodeID), .equal, .value(.text(id))))
        case .node(let id, let name)?:
            conditions.append(.compare(.column(folder, .nodeID), .equal, .value(.text(id))))
            if let name, let value = predicateValue(name, expression.position) { conditions.append(.compare(.column(folder, .name), .equal, value)) }
        case .comparison(let namePath, .equal, let value)? where namePath.parts.map(\.attribute) == ["name", "value"]:
            if let name = predicateValue(value, expression.position) { conditions.append(.compare(.column(folder, .name), .equal, name)) }
        case let other?:
            fail(expression.position, "unsupported predicate on FOLDER: \(other)")
        }
        scope.add(.folder, folder, on: conditions, left: left)
        bindings.append("\(expression.variable ?? "FOLDER"): folder \(folder)")
        return .folder(
            Anchor(
                composition: folder, cid: .concat([.column(folder, .objectID), .constant(.text(":")), .column(folder, .num)]), num: .column(folder, .num),
                numCap: .column(folder, .numCap), rootNum: .constant(.integer(0)), apath: "", apathColumn: .constant(.text("")),
                archetypeID: .column(folder, .nodeID), types: ["FOLDER"], node: nil, jsonPath: .column(folder, .jsonPath)))
    }

    /// The composition a class below an EHR (or a VERSION) belongs to: the
    /// parent's own when it is one, a new alias otherwise.
    func implicitComposition(parent: Binding?, scope: Scope, left: Bool, position: SourcePosition) -> Anchor {
        switch parent {
        case .composition(let anchor)?: return anchor
        case .version(_, let composition)?, .versionedObject(_, let composition)?: return composition
        case .node(let anchor)?: return anchor
        default:
            return bindComposition(ClassExpression(rmType: "COMPOSITION", variable: nil, position: position), parent: parent, scope: scope, left: left)
        }
    }

    func bindComposition(_ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool) -> Anchor {
        let alias = alias("c")
        var conditions: [PlanCondition] = []
        var archetype = PlanExpression.column(alias, .archetypeID)
        switch parent {
        case .ehr(let ehr)?:
            conditions += ehr.join(alias)
        case .composition?, .node?, .ehrStatus?:
            fail(expression.position, "a COMPOSITION cannot be contained in another COMPOSITION or in one of its nodes")
        case .folder(let folder)?:
            // A folder contains the compositions its items, and its subfolders' items, name.
            let item = self.alias("i")
            conditions += [
                .compare(.column(alias, .ehrID), .equal, .column(folder.composition, .ehrID)),
                .exists(
                    PlanSubquery(
                        sources: [PlanSource(table: .folderItem, alias: item, join: .inner, on: [])],
                        conditions: [
                            .compare(.column(item, .objectID), .equal, .column(folder.composition, .objectID)),
                            .compare(.column(item, .num), .greaterOrEqual, folder.num), .compare(.column(item, .num), .lessOrEqual, folder.numCap ?? folder.num),
                            .compare(.column(item, .itemID), .equal, .column(alias, .objectID)),
                        ])),
            ]
        case .version?, .versionedObject?, .negated?, nil:
            break
        }
        switch expression.predicate {
        case .archetype(let id)?, .node(let id, nil)?:
            conditions.append(.compare(.column(alias, .archetypeID), .equal, .value(.text(id))))
            archetype = .value(.text(id))
        case nil:
            break
        case let other?:
            fail(expression.position, "unsupported COMPOSITION predicate \(other)")
        }
        scope.add(.composition, alias, on: conditions, left: left)
        return Anchor(
            composition: alias, cid: .column(alias, .cid), num: .constant(.integer(0)), numCap: nil, rootNum: .constant(.integer(0)), apath: "",
            apathColumn: .constant(.text("")), archetypeID: archetype, types: ["COMPOSITION"], node: nil)
    }

    func bindNode(_ expression: ClassExpression, parent: Binding?, scope: Scope, left: Bool, hasChildren: Bool = false) -> Anchor? {
        let container = implicitComposition(parent: parent, scope: scope, left: left, position: expression.position)
        let alias = alias("n")
        let types = RMTypeHierarchy.concreteTypes(of: expression.rmType)
        var conditions: [PlanCondition] = [.compare(.column(alias, .cid), .equal, container.cid)]
        if container.node != nil, let numCap = container.numCap {
            conditions += [.compare(.column(alias, .num), .greater, container.num), .compare(.column(alias, .num), .lessOrEqual, numCap)]
        }
        var apath: String?
        var archetype = PlanExpression.column(alias, .archetypeID)
        // An archetype root is its own root: naming its number lets a path below it seek on it.
        var rootNum = PlanExpression.column(alias, .rootNum)
        func root(_ id: String) {
            conditions += [.compare(.column(alias, .archetypeID), .equal, .value(.text(id))), .compare(.column(alias, .apath), .equal, .constant(.text("")))]
            apath = ""
            archetype = .value(.text(id))
            rootNum = .column(alias, .num)
        }
        switch expression.predicate {
        case .archetype(let id)?:
            root(id)
        case .node(let id, let name)?:
            if NodeProjection.isArchetypeRoot(id) {
                root(id)
            } else {
                conditions.append(.compare(.column(alias, .nodeID), .equal, .value(.text(id))))
            }
            if let name, let value = predicateValue(name, expression.position) { conditions.append(.compare(.column(alias, .name), .equal, value)) }
        case nil:
            break
        case let other?:
            fail(expression.position, "unsupported predicate on \(expression.rmType): \(other)")
        }
        let typeValues = types.sorted().map { PlanExpression.value(.text($0)) }
        conditions.append(typeValues.count == 1 ? .compare(.column(alias, .rmType), .equal, typeValues[0]) : .anyOf(.column(alias, .rmType), typeValues))
        let lazy = scope === main && !left && !hasChildren && container.node == nil && apath == "" && expression.variable != nil
        if lazy {
            lazyRoots[alias] = LazyRoot(conditions: conditions)
        } else {
            scope.add(.node, alias, on: conditions, left: left)
        }
        return Anchor(
            composition: container.composition, cid: lazy ? container.cid : .column(alias, .cid), num: .column(alias, .num),
            numCap: .column(alias, .numCap), rootNum: rootNum, apath: apath, apathColumn: .column(alias, .apath), archetypeID: archetype, types: types,
            node: alias)
    }

    /// Joins a lazy root's own row (when something needs more than its number).
    func ensureJoined(_ alias: PlanAlias?) {
        guard let alias, var root = lazyRoots[alias], !root.joined else { return }
        root.joined = true
        lazyRoots[alias] = root
        main.add(.node, alias, on: root.conditions + (root.bound.map { [.compare(.column(alias, .num), .equal, $0)] } ?? []))
    }

    /// Binds the EHR's own conditions once its compositions are known.
    func finishEHR(_ ehr: EHRBinding, scope: Scope, left: Bool) {
        if ehr.ehrID == nil {
            let alias = alias("e")
            scope.add(.ehr, alias, on: [], left: left)
            ehr.table = alias
            ehr.ehrID = .column(alias, .ehrID)
        }
        guard let predicate = ehr.predicate, let ehrID = ehr.ehrID else { return }
        if case .comparison(let path, let op, let value) = predicate, path.parts.map(\.attribute) == ["ehr_id", "value"] {
            if let operand = predicateValue(value, ehr.position, lowercase: true) { scope.conditions.append(.compare(ehrID, op, operand)) }
            if op == .equal, scope === main { onePatient = true }
        } else {
            fail(ehr.position, "only [ehr_id/value = …] is supported as an EHR predicate")
        }
    }

    /// A predicate value, bound: a literal or a query parameter.
    func predicateValue(_ value: PredicateValue, _ position: SourcePosition, lowercase: Bool = false) -> PlanExpression? {
        switch value {
        case .literal(.string(let text)): return .value(.text(lowercase ? text.lowercased() : text))
        case .literal(let literal): return .value(Self.value(literal.json))
        case .parameter(let name):
            guard let given = parameters[name] else {
                fail(position, "parameter $\(name) is used but not given (query_parameters)")
                return nil
            }
            if let text = given.stringValue { return .value(.text(lowercase ? text.lowercased() : text)) }
            return .value(Self.value(given))
        case .code(let code): return .value(.text(code))
        case .path:
            fail(position, "a path is not supported as a predicate value")
            return nil
        }
    }

    static func value(_ json: JSON) -> AQLValue {
        switch json {
        case .string(let text): .text(text)
        case .number(let text): Int64(text).map(AQLValue.integer) ?? Double(text).map(AQLValue.real) ?? .null
        case .bool(let flag): .integer(flag ? 1 : 0)
        default: .null
        }
    }
}
