import JSONCore
import OpenEHR

/// One side of a comparison, rendered.
struct Operand {
    var sql: String
    /// For paths and functions: how the value compares.
    var kind: LeafKind?
    /// The index row a polymorphic leaf reads, to switch to its text column.
    var node: String?
    /// For literals, parameters and constant functions: the value itself.
    var constant: JSON?
}

extension Build {
    // MARK: WHERE (AQL 1.1 §4.7)

    func conjuncts(_ condition: Condition) -> [Condition] {
        if case .and(let a, let b) = condition { return conjuncts(a) + conjuncts(b) }
        return [condition]
    }

    /// A condition as SQL. `joinPaths`: the condition is a top-level
    /// conjunct of the query, so its paths are inner-joined into the main
    /// query (and shared with SELECT); otherwise each atomic condition
    /// over index rows is an EXISTS sub-query.
    func render(_ condition: Condition, scope: Scope, joinPaths: Bool) -> String? {
        switch condition {
        case .and(let a, let b):
            guard let left = render(a, scope: scope, joinPaths: false), let right = render(b, scope: scope, joinPaths: false) else { return nil }
            return "(\(left) AND \(right))"
        case .or(let a, let b):
            guard let left = render(a, scope: scope, joinPaths: false), let right = render(b, scope: scope, joinPaths: false) else { return nil }
            return "(\(left) OR \(right))"
        case .not(let inner):
            guard let sql = render(inner, scope: scope, joinPaths: false) else { return nil }
            return "NOT (\(sql))"
        case .exists(let path):
            return exists(path, scope: scope)
        case .comparison(let a, let op, let b):
            return atomic(scope: scope, joinPaths: joinPaths) { sub in
                guard let lhs = self.operand(a, scope: sub, joinPaths: joinPaths), let rhs = self.operand(b, scope: sub, joinPaths: joinPaths) else {
                    return nil
                }
                return self.compare(lhs, op, rhs, position: a.position ?? b.position ?? SourcePosition(), texts: (a.text, b.text))
            }
        case .like(let path, let pattern):
            return atomic(scope: scope, joinPaths: joinPaths) { sub in
                guard let lhs = self.operand(.path(path), scope: sub, joinPaths: joinPaths), let rhs = self.operand(pattern, scope: sub, joinPaths: joinPaths)
                else { return nil }
                guard let text = rhs.constant?.stringValue else {
                    self.fail(path.position, "LIKE needs a string pattern")
                    return nil
                }
                if lhs.kind != .text && lhs.kind != .polymorphic {
                    self.fail(path.position, "type mismatch: LIKE compares strings, and '\(path.variable)\(path.text)' is not one")
                }
                return self.like(self.textColumn(lhs), text)
            }
        case .matches(let path, let operand):
            return atomic(scope: scope, joinPaths: joinPaths) { sub in
                guard let lhs = self.operand(.path(path), scope: sub, joinPaths: joinPaths) else { return nil }
                var values: [JSON] = []
                switch operand {
                case .values(let terminals):
                    for terminal in terminals {
                        guard let value = self.operand(terminal, scope: sub, joinPaths: joinPaths)?.constant else {
                            self.fail(path.position, "MATCHES takes a list of values")
                            return nil
                        }
                        values.append(value)
                    }
                case .terminology(let call):
                    guard let codes = self.terminologyCodes(call, path.position) else { return nil }
                    values = codes.map(JSON.string)
                }
                guard !values.isEmpty else { return "1 = 0" }
                for value in values { self.checkTypes(lhs, value, path.variable + path.text, path.position) }
                let column = values.first?.stringValue != nil && ISODateTime(values.first?.stringValue ?? "") == nil ? self.textColumn(lhs) : lhs.sql
                let rendered = values.map { self.constantSQL($0, for: lhs) }
                return "\(column) IN (\(rendered.joined(separator: ", ")))"
            }
        }
    }

    /// Runs `body` against the main scope (joined paths) or a fresh
    /// sub-query scope, which becomes an EXISTS when it joined anything.
    func atomic(scope: Scope, joinPaths: Bool, _ body: (Scope) -> String?) -> String? {
        if joinPaths { return body(scope) }
        let sub = Scope()
        guard let condition = body(sub) else { return nil }
        if sub.items.isEmpty { return condition }
        return "EXISTS (SELECT 1 FROM \(sub.fromClause) WHERE \((sub.conditions + [condition]).joined(separator: " AND ")))"
    }

    /// EXISTS path (AQL 1.1 §4.7.5): the node (or leaf value) is there.
    func exists(_ path: IdentifiedPath, scope: Scope) -> String? {
        guard let resolved = resolve(path) else { return nil }
        switch resolved {
        case .scalar(let sql, _): return "\(sql) IS NOT NULL"
        case .anchor, .version: return "1 = 1"
        case .node(let base, let hops, let steps, let types):
            let sub = Scope()
            let target = hops.isEmpty ? base : materialize(base, hops, key: nil, scope: sub, left: false)
            var conditions = sub.conditions
            if !steps.isEmpty {
                guard let (column, _) = leaf(target.node, steps: steps, types: types) else {
                    fail(path.position, "EXISTS on '\(path.text)' is not supported: it is not an indexed value")
                    return nil
                }
                conditions.append("\(column) IS NOT NULL")
            }
            if sub.items.isEmpty { return conditions.isEmpty ? "1 = 1" : conditions.joined(separator: " AND ") }
            return "EXISTS (SELECT 1 FROM \(sub.fromClause)\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")))"
        }
    }

    func operand(_ terminal: Terminal, scope: Scope, joinPaths: Bool, left: Bool = false) -> Operand? {
        switch terminal {
        case .literal(let literal):
            return Operand(sql: literal.text, constant: literal.json)
        case .parameter(let name):
            guard let value = parameters[name] else {
                fail(SourcePosition(), "parameter $\(name) is used but not given (query_parameters)")
                return nil
            }
            return Operand(sql: literal(Self.value(value)), constant: value)
        case .function(let call):
            if let constant = constantFunction(call) { return Operand(sql: literal(Self.value(constant)), constant: constant) }
            guard let (sql, type) = renderFunction(call, scope: scope, joinPaths: joinPaths, left: left) else { return nil }
            return Operand(sql: sql, kind: type == .text ? .text : type == .boolean ? .boolean : .number)
        case .path(let path):
            if let time = compositionStartTime(path, comparing: true) { return Operand(sql: time, kind: .date) }
            guard let resolved = resolve(path) else { return nil }
            switch resolved {
            case .scalar(let sql, let type):
                return Operand(sql: sql, kind: type == .timestamp ? .date : type == .text ? .text : type == .boolean ? .boolean : .number)
            case .anchor, .version:
                fail(path.position, "'\(path.variable)\(path.text)' is an RM object: compare one of its values")
                return nil
            case .node(let base, let hops, let steps, let types):
                let target = hops.isEmpty ? base : materialize(base, hops, key: joinPaths || left ? path.key : nil, scope: scope, left: left)
                guard let (column, kind) = leaf(target.node, steps: steps, types: types) else {
                    fail(path.position, "'\(path.variable)\(path.text)' cannot be used here: it is not an indexed value")
                    return nil
                }
                return Operand(sql: column, kind: kind, node: target.node)
            }
        }
    }

    /// The text column of a polymorphic leaf (`…/value` of any DATA_VALUE).
    func textColumn(_ operand: Operand) -> String {
        if operand.kind == .polymorphic, let node = operand.node { return "\(node).str_value" }
        return operand.sql
    }

    /// A constant as it compares with `other`: dates as microseconds, booleans as 0/1.
    func constantSQL(_ value: JSON, for other: Operand) -> String {
        switch (value, other.kind) {
        case (.string(let text), .date?), (.string(let text), .polymorphic?):
            if let time = ISODateTime(text) { return String(time.microsecondsSinceEpoch) }
            return Self.quote(text)
        case (.bool(let flag), _):
            return flag ? "1" : "0"
        case (.string(let text), .number?) where Double(text) != nil:
            return literal(Self.value(.number(text)))
        default:
            return literal(Self.value(value))
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

    func compare(_ lhs: Operand, _ op: ComparisonOperator, _ rhs: Operand, position: SourcePosition, texts: (String, String)) -> String {
        if lhs.constant == nil, let constant = rhs.constant { checkTypes(lhs, constant, texts.0, position) }
        if rhs.constant == nil, let constant = lhs.constant { checkTypes(rhs, constant, texts.1, position) }
        if lhs.constant == nil, rhs.constant == nil, let left = lhs.kind, let right = rhs.kind {
            // Two values: a string compares with a string (or a DATA_VALUE's text), a number with a number.
            switch (left, right) {
            case (.text, .polymorphic): return "\(lhs.sql) \(sqlOperator(op)) \(textColumn(rhs))"
            case (.polymorphic, .text): return "\(textColumn(lhs)) \(sqlOperator(op)) \(rhs.sql)"
            case (.text, .text), (.polymorphic, _), (_, .polymorphic): break
            case (.text, _), (_, .text):
                fail(position, "type mismatch: '\(texts.0)' and '\(texts.1)' cannot be compared (a string and a number or date-time)")
                return "1 = 0"
            default: break
            }
        }
        let sqlOp = sqlOperator(op)
        switch (lhs.constant, rhs.constant) {
        case (nil, let value?):
            let column = value.stringValue.map { ISODateTime($0) == nil } == true ? textColumn(lhs) : lhs.sql
            return "\(column) \(sqlOp) \(constantSQL(value, for: lhs))"
        case (let value?, nil):
            let column = value.stringValue.map { ISODateTime($0) == nil } == true ? textColumn(rhs) : rhs.sql
            return "\(constantSQL(value, for: rhs)) \(sqlOp) \(column)"
        default:
            return "\(lhs.sql) \(sqlOp) \(rhs.sql)"
        }
    }

    /// AQL LIKE (§4.7.3): `%` or `*` any run of characters, `_` or `?` one.
    /// Case-sensitive on both engines: GLOB on SQLite, LIKE on PostgreSQL.
    func like(_ column: String, _ pattern: String) -> String {
        var rendered = ""
        for character in pattern {
            switch character {
            case "%", "*": rendered += dialect == .sqlite ? "*" : "%"
            case "_", "?": rendered += dialect == .sqlite ? "?" : "_"
            case "[" where dialect == .sqlite: rendered += "[[]"
            case "\\" where dialect == .postgresql: rendered += "\\\\"
            default: rendered.append(character)
            }
        }
        return dialect == .sqlite ? "\(column) GLOB \(Self.quote(rendered))" : "\(column) LIKE \(Self.quote(rendered))"
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

    // MARK: Functions (AQL 1.1 §4.9)

    /// CURRENT_DATE and the other functions of the clock, evaluated once per query.
    func constantFunction(_ call: FunctionCall) -> JSON? {
        let text = now.description
        switch call.name {
        case "CURRENT_DATE": return .string(String(text.prefix(10)))
        case "CURRENT_TIME": return .string(String(text.dropFirst(11)))
        case "CURRENT_DATE_TIME", "NOW": return .string(text)
        case "CURRENT_TIMEZONE": return .string("Z")
        default: return nil
        }
    }

    func renderFunction(_ call: FunctionCall, scope: Scope, joinPaths: Bool, left: Bool) -> (String, ScalarType)? {
        var arguments: [Operand] = []
        for argument in call.arguments {
            guard let operand = operand(argument, scope: scope, joinPaths: joinPaths, left: left) else { return nil }
            arguments.append(operand)
        }
        // String functions read text (numbers as their text); numeric ones need numbers.
        func text(_ index: Int) -> String {
            let argument = arguments[index]
            if let constant = argument.constant {
                if case .string = constant { return argument.sql }
                return Self.quote(constant.stringValue ?? JSONSerializer.string(constant))
            }
            if argument.kind == .text || argument.kind == .polymorphic { return textColumn(argument) }
            fail(call.position, "type mismatch: \(call.name) needs a string as argument \(index + 1), not \(call.arguments[index].text)")
            return "NULL"
        }
        func numeric(_ indices: Range<Int>) -> Bool {
            for index in indices where index < arguments.count {
                let argument = arguments[index]
                let isNumber: Bool
                if let constant = argument.constant {
                    if case .number = constant { isNumber = true } else { isNumber = false }
                } else {
                    isNumber = argument.kind == .number || argument.kind == .polymorphic
                }
                if !isNumber {
                    fail(call.position, "type mismatch: \(call.name) needs a number as argument \(index + 1), not \(call.arguments[index].text)")
                    return false
                }
            }
            return true
        }
        func count(_ expected: ClosedRange<Int>) -> Bool {
            guard expected.contains(arguments.count) else {
                fail(call.position, "\(call.name) takes \(expected.lowerBound == expected.upperBound ? "\(expected.lowerBound)" : "\(expected.lowerBound) to \(expected.upperBound)") arguments, not \(arguments.count)")
                return false
            }
            return true
        }
        let sqlite = dialect == .sqlite
        switch call.name {
        case "LENGTH":
            guard count(1...1) else { return nil }
            return ("\(sqlite ? "length" : "char_length")(\(text(0)))", .integer)
        case "CONTAINS":
            guard count(2...2) else { return nil }
            return (sqlite ? "(instr(\(text(0)), \(text(1))) > 0)" : "(strpos(\(text(0)), \(text(1))) > 0)", .boolean)
        case "POSITION":
            guard count(2...2) else { return nil }
            return (sqlite ? "instr(\(text(1)), \(text(0)))" : "strpos(\(text(1)), \(text(0)))", .integer)
        case "SUBSTRING":
            guard count(2...3), numeric(1..<3) else { return nil }
            return ("substr(\(text(0)), \(arguments[1...].map { "CAST(\($0.sql) AS INTEGER)" }.joined(separator: ", ")))", .text)
        case "CONCAT":
            guard count(1...32) else { return nil }
            return ("(" + arguments.indices.map { "COALESCE(\(text($0)), '')" }.joined(separator: " || ") + ")", .text)
        case "CONCAT_WS":
            guard count(2...32) else { return nil }
            let separator = text(0)
            return ("(" + arguments.indices.dropFirst().map { "COALESCE(\(text($0)), '')" }.joined(separator: " || \(separator) || ") + ")", .text)
        case "ABS":
            guard count(1...1), numeric(0..<1) else { return nil }
            return ("abs(\(arguments[0].sql))", .number)
        case "MOD":
            guard count(2...2), numeric(0..<2) else { return nil }
            return (sqlite ? "mod(\(arguments[0].sql), \(arguments[1].sql))" : "CAST(mod(CAST(\(arguments[0].sql) AS NUMERIC), CAST(\(arguments[1].sql) AS NUMERIC)) AS DOUBLE PRECISION)", .number)
        case "CEIL", "FLOOR":
            guard count(1...1), numeric(0..<1) else { return nil }
            return ("\(call.name.lowercased())(\(arguments[0].sql))", .number)
        case "ROUND":
            guard count(1...2), numeric(0..<2) else { return nil }
            let digits = arguments.count == 2 ? arguments[1].sql : "0"
            return (sqlite ? "round(\(arguments[0].sql), \(digits))" : "CAST(round(CAST(\(arguments[0].sql) AS NUMERIC), \(digits)) AS DOUBLE PRECISION)", .number)
        default:
            fail(call.position, "unknown function \(call.name)")
            return nil
        }
    }
}

extension Condition {
    /// A comparison, LIKE or MATCHES: what a top-level conjunct joins.
    var isAtomic: Bool {
        switch self {
        case .comparison, .like, .matches: true
        case .and, .or, .not, .exists: false
        }
    }
}

extension Terminal {
    var position: SourcePosition? {
        switch self {
        case .path(let path): path.position
        case .function(let call): call.position
        case .literal, .parameter: nil
        }
    }
}
