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
            if let (expression, type) = planAggregate(aggregate) {
                let index = select.add(.scalar(expression))
                if let alias = column.alias { select.scalarsByAlias[alias] = index }
                select.columns.append(OutputColumn(name: name, path: aggregate.text, value: .scalar(selection: index, type: type)))
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
            guard let (column, kind) = value(target, steps: steps, types: types, path, scope: main, report: false), kind != .polymorphic, let node = target.node else {
                fail(path.position, "'\(path.variable)\(path.text)' cannot be grouped by: select one of its values beside an aggregate")
                return nil
            }
            let expression = kind == .date ? PlanExpression.column(node, .strValue) : column
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

    func planAggregate(_ aggregate: Aggregate) -> (PlanExpression, ScalarType)? {
        let function = PlanAggregate(rawValue: aggregate.function.rawValue) ?? .count
        guard let path = aggregate.path else { return (.aggregate(.count, distinct: false, nil), .integer) }
        guard let resolved = resolve(path) else { return nil }
        var column: PlanExpression
        var type: ScalarType
        switch resolved {
        case .scalar(let expression, let scalarType):
            column = expression
            type = scalarType
        case .anchor(let anchor):
            // A node is identified by its composition and its number.
            let cid = PlanExpression.column(anchor.composition, .cid)
            column = anchor.node.map { .concat([cid, .constant(.text(":")), .column($0, .num)]) } ?? cid
            type = .integer
        case .node(let base, let hops, let steps, let types):
            let target = materialize(base, hops, key: path.key, scope: main, left: true)
            guard let (leafColumn, kind) = value(target, steps: steps, types: types, path, scope: main) else { return nil }
            column = leafColumn
            type = kind == .date ? .timestamp : kind == .text ? .text : .number
        case .version(let alias, _):
            column = .column(alias, .versionNumber)
            type = .integer
        }
        switch function {
        case .count: return (.aggregate(.count, distinct: aggregate.distinct, column), .integer)
        case .min, .max: return (.aggregate(function, distinct: aggregate.distinct, column), type)
        case .sum, .avg:
            if type == .text || type == .timestamp {
                fail(path.position, "\(function.rawValue) needs numbers: '\(path.text)' is not numeric")
                return nil
            }
            return (.aggregate(function, distinct: aggregate.distinct, column), .number)
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
