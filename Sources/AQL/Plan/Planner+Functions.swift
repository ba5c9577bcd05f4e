import JSONCore

extension PlanBuilder {
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

    func planFunction(_ call: FunctionCall, scope: Scope, joinPaths: Bool, left: Bool) -> (PlanExpression, ScalarType)? {
        if call.name == "TAG" || call.name == "TAGGED" { return planTag(call, scope: scope, joinPaths: joinPaths, left: left) }
        var arguments: [Operand] = []
        for argument in call.arguments {
            guard let operand = operand(argument, scope: scope, joinPaths: joinPaths, left: left) else { return nil }
            arguments.append(operand)
        }
        let check = FunctionArguments(call: call, arguments: arguments, builder: self)
        switch call.name {
        case "LENGTH":
            guard check.count(1...1) else { return nil }
            return (.function(.length, [check.text(0)]), .integer)
        case "CONTAINS":
            guard check.count(2...2) else { return nil }
            return (.function(.contains, [check.text(0), check.text(1)]), .boolean)
        case "POSITION":
            guard check.count(2...2) else { return nil }
            return (.function(.position, [check.text(0), check.text(1)]), .integer)
        case "SUBSTRING":
            guard check.count(2...3), check.numeric(1..<3) else { return nil }
            return (.function(.substring, [check.text(0)] + arguments[1...].map { .function(.integer, [$0.expression]) }), .text)
        case "CONCAT":
            guard check.count(1...32) else { return nil }
            return (.concat(arguments.indices.map { .function(.orEmpty, [check.text($0)]) }), .text)
        case "CONCAT_WS":
            guard check.count(2...32) else { return nil }
            let separator = check.text(0)
            var parts: [PlanExpression] = []
            for index in arguments.indices.dropFirst() {
                if index > 1 { parts.append(separator) }
                parts.append(.function(.orEmpty, [check.text(index)]))
            }
            return (.concat(parts), .text)
        case "ABS", "CEIL", "FLOOR":
            guard check.count(1...1), check.numeric(0..<1) else { return nil }
            let function: PlanFunction = call.name == "ABS" ? .abs : call.name == "CEIL" ? .ceil : .floor
            return (.function(function, [arguments[0].expression]), .number)
        case "MOD":
            guard check.count(2...2), check.numeric(0..<2) else { return nil }
            return (.function(.mod, [arguments[0].expression, arguments[1].expression]), .number)
        case "ROUND":
            guard check.count(1...2), check.numeric(0..<2) else { return nil }
            let digits = arguments.count == 2 ? arguments[1].expression : .constant(.integer(0))
            return (.function(.round, [arguments[0].expression, digits]), .number)
        default:
            fail(call.position, "unknown function \(call.name)")
            return nil
        }
    }
}

extension PlanBuilder {
    /// `TAG(c, key [, target_path])` and `TAGGED(c, key [, target_path])`:
    /// the ITEM_TAG `key` of composition `c` (its versioned object's, or its
    /// version's), for the whole composition or at `target_path`. AQL 1.1
    /// defines no syntax for tags (RM 1.1.0 §Tags asks for one); these are
    /// Socle's, as functions so that the AQL grammar reads them unchanged.
    func planTag(_ call: FunctionCall, scope: Scope, joinPaths: Bool, left: Bool) -> (PlanExpression, ScalarType)? {
        guard (2...3).contains(call.arguments.count) else {
            fail(call.position, "\(call.name) takes 2 or 3 arguments (a COMPOSITION or VERSION variable, a key, a target path), not \(call.arguments.count)")
            return nil
        }
        let variable: String? = if case .path(let path) = call.arguments[0], path.path == nil, path.predicate == nil { path.variable } else { nil }
        let anchor: Anchor?
        switch variable.flatMap({ variables[$0] }) {
        case .composition(let composition)?: anchor = composition
        case .version(_, let composition)?: anchor = composition
        default: anchor = nil
        }
        guard let anchor, anchor.node == nil else {
            fail(call.position, "\(call.name) tags a COMPOSITION or VERSION variable of the FROM clause: its first argument is that variable alone")
            return nil
        }
        var texts: [PlanExpression] = []
        for argument in call.arguments.dropFirst() {
            guard let operand = operand(argument, scope: scope, joinPaths: joinPaths, left: left) else { return nil }
            guard case .string(let text)? = operand.constant else {
                fail(call.position, "\(call.name) needs a string literal or parameter as key and target path, not \(argument.text)")
                return nil
            }
            texts.append(.value(.text(text == "/" ? "" : text)))
        }
        let tag = PlanTag(
            objectID: .column(anchor.composition, .objectID), versionNumber: anchor.versionNumber, key: texts[0],
            targetPath: texts.count > 1 ? texts[1] : .constant(.text("")), presence: call.name == "TAGGED")
        return (.tag(tag), tag.presence ? .boolean : .text)
    }
}

/// The arguments of one function call, checked for count and type.
struct FunctionArguments {
    let call: FunctionCall
    let arguments: [Operand]
    let builder: PlanBuilder

    /// String functions read text (numbers as their text).
    func text(_ index: Int) -> PlanExpression {
        let argument = arguments[index]
        if let constant = argument.constant {
            if case .string = constant { return argument.expression }
            return .value(.text(constant.stringValue ?? JSONSerializer.string(constant)))
        }
        if argument.kind == .text || argument.kind == .polymorphic { return builder.textColumn(argument) }
        builder.fail(call.position, "type mismatch: \(call.name) needs a string as argument \(index + 1), not \(call.arguments[index].text)")
        return .constant(.null)
    }

    /// Numeric functions need numbers.
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
                builder.fail(call.position, "type mismatch: \(call.name) needs a number as argument \(index + 1), not \(call.arguments[index].text)")
                return false
            }
        }
        return true
    }

    func count(_ expected: ClosedRange<Int>) -> Bool {
        guard expected.contains(arguments.count) else {
            let range = expected.lowerBound == expected.upperBound ? "\(expected.lowerBound)" : "\(expected.lowerBound) to \(expected.upperBound)"
            builder.fail(call.position, "\(call.name) takes \(range) arguments, not \(arguments.count)")
            return false
        }
        return true
    }
}
