import JSONCore

extension PlanBuilder {
    // MARK: SELECT (AQL 1.1 §4.5)

    /// Plans one SELECT column: its selection, and how the result column reads it.
    func plan(_ column: Column, name: String, into select: inout SelectPlan) {
        switch column.expression {
        case .literal(let literal):
            select.columns.append(OutputColumn(name: name, path: literal.text, value: .constant(literal.json)))
        case .function(let call):
            if let constant = constantFunction(call) {
                select.columns.append(OutputColumn(name: name, path: call.text, value: .constant(constant)))
            } else if let (expression, type) = planFunction(call, scope: main, joinPaths: false, left: true) {
                let index = select.add(.scalar(expression))
                if let alias = column.alias { select.scalarsByAlias[alias] = index }
                select.columns.append(OutputColumn(name: name, path: call.text, value: .scalar(selection: index, type: type)))
            }
        case .aggregate(let aggregate):
            switch planAggregate(aggregate) {
            case .scalar(let expression, let type)?:
                let index = select.add(.scalar(expression))
                if let alias = column.alias { select.scalarsByAlias[alias] = index }
                select.columns.append(OutputColumn(name: name, path: aggregate.text, value: .scalar(selection: index, type: type)))
            case .object(let extreme)?:
                select.readsObjects = true
                let index = select.add(.extreme(extreme))
                select.columns.append(OutputColumn(name: name, path: aggregate.text, value: .node(selection: index, steps: [])))
            case nil: break
            }
        case .path(let path):
            guard let resolved = resolve(path), let value = plan(path, resolved, into: &select) else { return }
            select.columns.append(OutputColumn(name: name, path: path.key, value: value))
        }
    }

    /// A selected path: a scalar, a node (read whole from its version) or a version.
    func plan(_ path: IdentifiedPath, _ resolved: Resolved, into select: inout SelectPlan) -> OutputValue? {
        switch resolved {
        case .scalar(let expression, let type):
            return .scalar(selection: select.add(.scalar(expression)), type: type)
        case .anchor(let anchor):
            if select.hasAggregate {
                fail(path.position, "'\(path.variable)' is an RM object: it cannot be grouped by; select one of its values beside an aggregate")
                return nil
            }
            select.readsObjects = true
            return .node(selection: select.add(.node(composition: anchor.composition, version: anchor.versionNumber, num: anchor.num, node: anchor.node)), steps: [])
        case .node(let base, let hops, let steps, let types):
            let target = hops.isEmpty ? base : materialize(base, hops, key: path.key, scope: main, left: true)
            guard select.hasAggregate else {
                select.readsObjects = true
                let selection = PlanSelection.node(composition: target.composition, version: target.versionNumber, num: target.num, node: target.node)
                return .node(selection: select.add(selection), steps: steps)
            }
            // Grouped by the value, not by the node that holds it.
            guard let (column, kind) = value(target, steps: steps, types: types, path, scope: main) else { return nil }
            guard kind != .polymorphic else {
                fail(path.position, "'\(path.variable)\(path.text)' cannot be grouped by: select one of its values beside an aggregate")
                return nil
            }
            // A date-time is grouped by as written (its index row's text).
            let expression = kind == .date ? target.node.map { PlanExpression.column($0, .strValue) } ?? column : column
            let type: ScalarType = kind == .number ? .number : kind == .boolean ? .boolean : .text
            return .scalar(selection: select.add(.scalar(expression)), type: type)
        case .version(let alias, let steps):
            if select.hasAggregate {
                fail(path.position, "'\(path.variable)\(path.text)' cannot be grouped by: select a scalar of the version (uid/value, commit_audit/time_committed/value)")
                return nil
            }
            select.readsObjects = true
            return .version(selection: select.add(.version(alias)), steps: steps)
        }
    }

    // MARK: Aggregates

    /// What an aggregate gives: a scalar, or the data value object that has
    /// the extreme (MIN and MAX of a data value, issue 19 §3).
    enum AggregatePlan {
        case scalar(PlanExpression, ScalarType)
        case object(PlanExtreme)
    }

    func planAggregate(_ aggregate: Aggregate) -> AggregatePlan? {
        let function = PlanAggregate(rawValue: aggregate.function.rawValue) ?? .count
        guard let path = aggregate.path else { return .scalar(.aggregate(.count, distinct: false, nil), .integer) }
        guard let resolved = resolve(path) else { return nil }
        var column: PlanExpression
        var type: ScalarType
        switch resolved {
        case .scalar(let expression, let scalarType):
            column = expression
            type = scalarType
        case .anchor(let anchor):
            guard function == .count else {
                fail(path.position, "\(function.rawValue) of '\(path.variable)', an RM object that is not a data value, is not defined: aggregate one of its values")
                return nil
            }
            // A node is identified by its composition and its number.
            let cid = PlanExpression.column(anchor.composition, .cid)
            column = anchor.node.map { .concat([cid, .constant(.text(":")), .column($0, .num)]) } ?? anchor.cid
            type = .integer
        case .node(let base, let hops, let steps, let types):
            let target = materialize(base, hops, key: path.key, scope: main, left: true)
            if steps.isEmpty, let node = target.node, !types.isEmpty, types.allSatisfy({ $0.hasPrefix("DV_") }) {
                return dataValueAggregate(function, aggregate.distinct, target, node, types, path)
            }
            guard let (leafColumn, kind) = value(target, steps: steps, types: types, path, scope: main) else { return nil }
            column = leafColumn
            type = kind == .date ? .timestamp : kind == .text ? .text : .number
        case .version(let alias, _):
            column = .column(alias, .versionNumber)
            type = .integer
        }
        switch function {
        case .count: return .scalar(.aggregate(.count, distinct: aggregate.distinct, column), .integer)
        case .min, .max: return .scalar(.aggregate(function, distinct: aggregate.distinct, column), type)
        case .sum, .avg:
            if type == .text || type == .timestamp {
                fail(path.position, "\(function.rawValue) needs numbers: '\(path.text)' is not numeric")
                return nil
            }
            return .scalar(.aggregate(function, distinct: aggregate.distinct, column), .number)
        }
    }

    /// An aggregate of a data value object (AQL 1.1 §4.5.2): COUNT counts the
    /// objects there are; MIN and MAX give the object whose ordering value
    /// (magnitude, date-time, ordinal value …, then text) is the extreme; SUM
    /// and AVG add magnitudes of DV_QUANTITY in one unit (null when they mix
    /// units) and of the other ordered numbers (DV_COUNT, DV_PROPORTION …).
    func dataValueAggregate(
        _ function: PlanAggregate, _ distinct: Bool, _ target: Anchor, _ node: PlanAlias, _ types: Set<String>, _ path: IdentifiedPath
    ) -> AggregatePlan? {
        switch function {
        case .count:
            let identity = PlanExpression.concat([.column(target.composition, .objectID), .constant(.text(":")), .column(node, .num)])
            return .scalar(.aggregate(.count, distinct: distinct, distinct ? identity : .column(node, .num)), .integer)
        case .min, .max:
            return .object(
                PlanExtreme(
                    maximum: function == .max, keys: [.column(node, .numValue), .column(node, .strValue)], objectID: .column(target.composition, .objectID),
                    versionNumber: target.versionNumber, num: .column(node, .num)))
        case .sum, .avg:
            guard !types.isSubset(of: LeafColumn.texts.union(LeafColumn.dates)) else {
                fail(path.position, "\(function.rawValue) needs numbers: '\(path.text)' is \(types.sorted().joined(separator: " or "))")
                return nil
            }
            let total = PlanExpression.aggregate(function, distinct: distinct, .column(node, .numValue))
            return .scalar(types.contains("DV_QUANTITY") ? .inOneUnit(units: .column(node, .units), total) : total, .number)
        }
    }

    // MARK: ORDER BY (AQL 1.1 §4.6)

    /// Order keys for a path: the leaf's column, or a node's number then text.
    func orderKeys(_ path: IdentifiedPath) -> [PlanExpression] {
        if let time = compositionStartTime(path) { return [time] }
        guard let resolved = resolve(path) else { return [] }
        switch resolved {
        case .scalar(let expression, _): return [expression]
        case .anchor(let anchor):
            guard let node = anchor.node else { return [anchor.cid] }
            return [.column(node, .numValue), .column(node, .strValue)]
        case .node(let base, let hops, let steps, let types):
            let target = materialize(base, hops, key: path.key, scope: main, left: true)
            guard let (column, kind) = value(target, steps: steps, types: types, path, scope: main) else { return [] }
            if kind == .polymorphic, let node = target.node { return [.column(node, .numValue), .column(node, .strValue)] }
            return [column]
        case .version:
            fail(path.position, "'\(path.text)' cannot be ordered by")
            return []
        }
    }
}
