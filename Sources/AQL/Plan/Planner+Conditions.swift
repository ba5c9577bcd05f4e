import JSONCore
import OpenEHR

/// One side of a comparison, planned.
struct Operand {
    var expression: PlanExpression
    /// For paths and functions: how the value compares.
    var kind: LeafKind?
    /// The index row a polymorphic leaf reads, to switch to its text column.
    var node: PlanAlias?
    /// For literals, parameters and constant functions: the value itself.
    var constant: JSON?
}

extension PlanBuilder {
    // MARK: WHERE (AQL 1.1 §4.7)

    /// The operands of a run of ANDs (or ORs), in order, however the parser grouped them.
    func operands(of condition: Condition, and: Bool) -> [Condition] {
        switch condition {
        case .and(let a, let b) where and, .or(let a, let b) where !and: operands(of: a, and: and) + operands(of: b, and: and)
        default: [condition]
        }
    }

    func conjuncts(_ condition: Condition) -> [Condition] {
        if case .and(let a, let b) = condition { return conjuncts(a) + conjuncts(b) }
        return [condition]
    }

    /// A condition, planned. `joinPaths`: the condition is a top-level
    /// conjunct of the query, so its paths are inner-joined into the main
    /// query (and shared with SELECT); otherwise each atomic condition over
    /// index rows is an EXISTS sub-query.
    func plan(_ condition: Condition, scope: Scope, joinPaths: Bool) -> PlanCondition? {
        switch condition {
        case .and:
            // `a AND b AND c` is one flat conjunction, not nested pairs: SQLite's
            // parser overflowed on a hundred nested ones.
            let planned = operands(of: condition, and: true).map { plan($0, scope: scope, joinPaths: false) }
            guard planned.allSatisfy({ $0 != nil }) else { return nil }
            return .and(planned.compactMap { $0 })
        case .or:
            let planned = operands(of: condition, and: false).map { plan($0, scope: scope, joinPaths: false) }
            guard planned.allSatisfy({ $0 != nil }) else { return nil }
            return .or(planned.compactMap { $0 })
        case .not(let inner):
            return plan(inner, scope: scope, joinPaths: false).map(PlanCondition.not)
        case .exists(let path):
            return exists(path)
        case .comparison(let a, let op, let b):
            return atomic(scope: scope, joinPaths: joinPaths) { sub in
                guard let lhs = self.operand(a, scope: sub, joinPaths: joinPaths), let rhs = self.operand(b, scope: sub, joinPaths: joinPaths) else {
                    return nil
                }
                return self.compare(lhs, op, rhs, position: a.position ?? b.position ?? SourcePosition(), texts: (a.text, b.text))
            }
        case .like(let path, let pattern):
            return atomic(scope: scope, joinPaths: joinPaths) { sub in self.like(path, pattern, scope: sub, joinPaths: joinPaths) }
        case .matches(let path, let operand):
            return atomic(scope: scope, joinPaths: joinPaths) { sub in self.matches(path, operand, scope: sub, joinPaths: joinPaths) }
        }
    }

    /// LIKE (§4.7.3) on a string path.
    func like(_ path: IdentifiedPath, _ pattern: Terminal, scope: Scope, joinPaths: Bool) -> PlanCondition? {
        guard let lhs = operand(.path(path), scope: scope, joinPaths: joinPaths), let rhs = operand(pattern, scope: scope, joinPaths: joinPaths) else {
            return nil
        }
        guard let text = rhs.constant?.stringValue else {
            fail(path.position, "LIKE needs a string pattern")
            return nil
        }
        if lhs.kind != .text && lhs.kind != .polymorphic {
            fail(path.position, "type mismatch: LIKE compares strings, and '\(path.variable)\(path.text)' is not one")
        }
        return .like(textColumn(lhs), pattern: text)
    }

    /// MATCHES (§4.7.4): a list of values, or an openEHR terminology group.
    func matches(_ path: IdentifiedPath, _ operand: MatchesOperand, scope: Scope, joinPaths: Bool) -> PlanCondition? {
        guard let lhs = self.operand(.path(path), scope: scope, joinPaths: joinPaths) else { return nil }
        var values: [JSON] = []
        switch operand {
        case .values(let terminals):
            for terminal in terminals {
                guard let value = self.operand(terminal, scope: scope, joinPaths: joinPaths)?.constant else {
                    fail(path.position, "MATCHES takes a list of values")
                    return nil
                }
                values.append(value)
            }
        case .terminology(let call):
            guard let codes = terminologyCodes(call, path.position) else { return nil }
            values = codes.map(JSON.string)
        }
        guard !values.isEmpty else { return .always(false) }
        for value in values { checkTypes(lhs, value, path.variable + path.text, path.position) }
        let column = values.first?.stringValue != nil && ISODateTime(values.first?.stringValue ?? "") == nil ? textColumn(lhs) : lhs.expression
        return .anyOf(column, values.map { constantValue($0, for: lhs) })
    }

    /// Runs `body` against the main scope (joined paths) or a fresh
    /// sub-query scope, which becomes an EXISTS when it joined anything.
    func atomic(scope: Scope, joinPaths: Bool, _ body: (Scope) -> PlanCondition?) -> PlanCondition? {
        if joinPaths { return body(scope) }
        let sub = Scope()
        guard let condition = body(sub) else { return nil }
        if sub.isEmpty { return condition }
        return .exists(sub.subquery(adding: [condition]))
    }

    /// EXISTS path (AQL 1.1 §4.7.5): the node (or leaf value) is there.
    func exists(_ path: IdentifiedPath) -> PlanCondition? {
        guard let resolved = resolve(path) else { return nil }
        switch resolved {
        case .scalar(let expression, _): return .isNotNull(expression)
        case .anchor, .version: return .always(true)
        case .node(let base, let hops, let steps, let types):
            let sub = Scope()
            let target = hops.isEmpty ? base : materialize(base, hops, key: nil, scope: sub, left: false)
            var present: [PlanCondition] = []
            if !steps.isEmpty {
                guard let (column, _) = value(target, steps: steps, types: types, path, scope: sub) else { return nil }
                present.append(.isNotNull(column))
            }
            let conditions = sub.conditions + present
            if sub.isEmpty { return conditions.isEmpty ? .always(true) : .and(conditions) }
            return .exists(PlanSubquery(sources: sub.sources, conditions: conditions))
        }
    }

    func operand(_ terminal: Terminal, scope: Scope, joinPaths: Bool, left: Bool = false) -> Operand? {
        switch terminal {
        case .literal(let literal):
            return Operand(expression: .value(Self.value(literal.json)), constant: literal.json)
        case .parameter(let name):
            guard let value = parameters[name] else {
                fail(SourcePosition(), "parameter $\(name) is used but not given (query_parameters)")
                return nil
            }
            return Operand(expression: .value(Self.value(value)), constant: value)
        case .function(let call):
            if let constant = constantFunction(call) { return Operand(expression: .value(Self.value(constant)), constant: constant) }
            guard let (expression, type) = planFunction(call, scope: scope, joinPaths: joinPaths, left: left) else { return nil }
            return Operand(expression: expression, kind: type == .text ? .text : type == .boolean ? .boolean : .number)
        case .path(let path):
            return pathOperand(path, scope: scope, joinPaths: joinPaths, left: left)
        }
    }

    func pathOperand(_ path: IdentifiedPath, scope: Scope, joinPaths: Bool, left: Bool) -> Operand? {
        if let time = compositionStartTime(path, comparing: true) { return Operand(expression: time, kind: .date) }
        guard let resolved = resolve(path) else { return nil }
        switch resolved {
        case .scalar(let expression, let type):
            return Operand(expression: expression, kind: type == .timestamp ? .date : type == .text ? .text : type == .boolean ? .boolean : .number)
        case .anchor, .version:
            fail(path.position, "'\(path.variable)\(path.text)' is an RM object: compare one of its values")
            return nil
        case .node(let base, let hops, let steps, let types):
            let target = hops.isEmpty ? base : materialize(base, hops, key: joinPaths || left ? path.key : nil, scope: scope, left: left)
            guard let (column, kind) = value(target, steps: steps, types: types, path, scope: scope) else { return nil }
            return Operand(expression: column, kind: kind, node: target.node)
        }
    }

    /// The text column of a polymorphic leaf (`…/value` of any DATA_VALUE).
    func textColumn(_ operand: Operand) -> PlanExpression {
        if operand.kind == .polymorphic, let node = operand.node { return .column(node, .strValue) }
        return operand.expression
    }

    /// A constant as it compares with `other`: dates as microseconds, booleans as 0/1.
    func constantValue(_ value: JSON, for other: Operand) -> PlanExpression {
        switch (value, other.kind) {
        case (.string(let text), .date?), (.string(let text), .polymorphic?):
            if let time = ISODateTime(text) { return .value(.integer(time.microsecondsSinceEpoch)) }
            return .value(.text(text))
        case (.bool(let flag), _):
            return .value(.integer(flag ? 1 : 0))
        case (.string(let text), .number?) where Double(text) != nil:
            return .value(Self.value(.number(text)))
        default:
            return .value(Self.value(value))
        }
    }

    /// A type mismatch between a typed value and a constant (AQL 1.1 §WHERE:
    /// operands of a comparison must be comparable).
    func checkTypes(_ value: Operand, _ constant: JSON, _ text: String, _ position: SourcePosition) {
        let problem: String?
        switch (value.kind, constant) {
        case (_, .null), (.polymorphic?, _), (nil, _): problem = nil
        case (.number?, .number): problem = nil
        // Parameters of a GET arrive as text.
        case (.number?, .string(let written)) where Double(written) != nil: problem = nil
        case (.number?, _): problem = "is a number"
        case (.text?, .string): problem = nil
        case (.text?, _): problem = "is a string"
        case (.boolean?, .bool): problem = nil
        case (.boolean?, _): problem = "is a boolean"
        case (.date?, .string(let written)): problem = ISODateTime(written) == nil ? "is a date-time (ISO 8601)" : nil
        case (.date?, _): problem = "is a date-time (ISO 8601)"
        }
        if let problem {
            fail(position, "type mismatch: '\(text)' \(problem), it cannot be compared with \(JSONSerializer.string(constant))")
        }
    }

    func compare(_ lhs: Operand, _ op: ComparisonOperator, _ rhs: Operand, position: SourcePosition, texts: (String, String)) -> PlanCondition {
        if lhs.constant == nil, let constant = rhs.constant { checkTypes(lhs, constant, texts.0, position) }
        if rhs.constant == nil, let constant = lhs.constant { checkTypes(rhs, constant, texts.1, position) }
        if lhs.constant == nil, rhs.constant == nil, let left = lhs.kind, let right = rhs.kind {
            // Two values: a string compares with a string (or a DATA_VALUE's text), a number with a number.
            switch (left, right) {
            case (.text, .polymorphic): return .compare(lhs.expression, op, textColumn(rhs))
            case (.polymorphic, .text): return .compare(textColumn(lhs), op, rhs.expression)
            case (.text, .text), (.polymorphic, _), (_, .polymorphic): break
            case (.text, _), (_, .text):
                fail(position, "type mismatch: '\(texts.0)' and '\(texts.1)' cannot be compared (a string and a number or date-time)")
                return .always(false)
            default: break
            }
        }
        switch (lhs.constant, rhs.constant) {
        case (nil, let value?):
            let column = value.stringValue.map { ISODateTime($0) == nil } == true ? textColumn(lhs) : lhs.expression
            return .compare(column, op, constantValue(value, for: lhs))
        case (let value?, nil):
            let column = value.stringValue.map { ISODateTime($0) == nil } == true ? textColumn(rhs) : rhs.expression
            return .compare(constantValue(value, for: rhs), op, column)
        default:
            return .compare(lhs.expression, op, rhs.expression)
        }
    }

    /// TERMINOLOGY('expand', 'openehr', 'group=<group id>'): the codes of an
    /// openEHR terminology group, for MATCHES.
    func terminologyCodes(_ call: FunctionCall, _ position: SourcePosition) -> [String]? {
        let arguments = call.arguments.map { terminal -> String? in
            if case .literal(.string(let text)) = terminal { return text }
            if case .parameter(let name) = terminal { return parameters[name]?.stringValue }
            return nil
        }
        guard arguments.count == 3, let operation = arguments[0], let service = arguments[1], let parameter = arguments[2] else {
            fail(position, "TERMINOLOGY takes three strings: operation, service and parameters, as TERMINOLOGY('expand', 'openehr', 'group=setting')")
            return nil
        }
        guard operation == "expand", service.lowercased() == "openehr" else {
            fail(position, "TERMINOLOGY('\(operation)', '\(service)', …) is not available: Socle expands the openEHR terminology's groups ('expand', 'openehr', 'group=…')")
            return nil
        }
        let group = parameter.hasPrefix("group=") ? String(parameter.dropFirst(6)) : parameter
        guard let codes = OpenEHRTerminology.shared.groups[group] else {
            fail(position, "the openEHR terminology has no group '\(group)'")
            return nil
        }
        return codes.keys.sorted()
    }
}
