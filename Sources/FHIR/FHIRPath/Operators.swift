import Foundation
import JSONCore

extension FHIRPathEvaluator {
    func binary(
        _ op: String, _ leftExpression: FHIRPathExpression, _ rightExpression: FHIRPathExpression, input: [FHIRPathValue], frame: Frame
    ) throws(FHIRPathError) -> [FHIRPathValue] {
        let left = try evaluate(leftExpression, input: input, frame: frame)
        // Short-circuits of the three-valued logic (FHIRPath §Boolean logic).
        switch op {
        case "and":
            let l = try boolean(left, "the left of 'and'")
            if l == false { return [.boolean(false)] }
            let r = try boolean(try evaluate(rightExpression, input: input, frame: frame), "the right of 'and'")
            if r == false { return [.boolean(false)] }
            if l == true && r == true { return [.boolean(true)] }
            return []
        case "or":
            let l = try boolean(left, "the left of 'or'")
            if l == true { return [.boolean(true)] }
            let r = try boolean(try evaluate(rightExpression, input: input, frame: frame), "the right of 'or'")
            if r == true { return [.boolean(true)] }
            if l == false && r == false { return [.boolean(false)] }
            return []
        case "implies":
            let l = try boolean(left, "the left of 'implies'")
            if l == false { return [.boolean(true)] }
            let r = try boolean(try evaluate(rightExpression, input: input, frame: frame), "the right of 'implies'")
            if r == true { return [.boolean(true)] }
            if l == true && r == false { return [.boolean(false)] }
            return []
        default: break
        }
        let right = try evaluate(rightExpression, input: input, frame: frame)
        switch op {
        case "xor":
            guard let l = try boolean(left, "the left of 'xor'"), let r = try boolean(right, "the right of 'xor'") else { return [] }
            return [.boolean(l != r)]
        case "|": return Self.union(left, right)
        case "=": return equalityResult(left, right)
        case "!=":
            return equalityResult(left, right).map { if case .boolean(let b) = $0 { return .boolean(!b) } else { return $0 } }
        case "~": return [.boolean(Self.equivalentCollections(left, right))]
        case "!~": return [.boolean(!Self.equivalentCollections(left, right))]
        case "<", ">", "<=", ">=":
            guard let l = left.first, let r = right.first else { return [] }
            guard left.count == 1, right.count == 1 else { throw FHIRPathError(.execution, "'\(op)' compares single items") }
            guard let order = try Self.compare(l, r) else { return [] }
            switch op {
            case "<": return [.boolean(order < 0)]
            case ">": return [.boolean(order > 0)]
            case "<=": return [.boolean(order <= 0)]
            default: return [.boolean(order >= 0)]
            }
        case "in", "contains":
            let (items, collection) = op == "in" ? (left, right) : (right, left)
            guard let item = items.first else { return [] }
            guard items.count == 1 else { throw FHIRPathError(.execution, "'\(op)' tests one item, got \(items.count)") }
            return [.boolean(collection.contains { Self.equal(item, $0) == true })]
        case "&":
            let l = try singleString(left, "&") ?? "", r = try singleString(right, "&") ?? ""
            return [.string(l + r)]
        case "+", "-", "*", "/", "div", "mod":
            guard let l = left.first, let r = right.first else { return [] }
            guard left.count == 1, right.count == 1 else { throw FHIRPathError(.execution, "'\(op)' applies to single items") }
            return try Self.arithmetic(op, l.system, r.system).map { [$0] } ?? []
        default:
            throw FHIRPathError(.syntax, "unknown operator '\(op)'")
        }
    }

    func equalityResult(_ left: [FHIRPathValue], _ right: [FHIRPathValue]) -> [FHIRPathValue] {
        guard !left.isEmpty, !right.isEmpty else { return [] }
        guard left.count == right.count else { return [.boolean(false)] }
        var unknown = false
        for (a, b) in zip(left, right) {
            guard let equal = Self.equal(a, b) else { unknown = true; continue }
            if !equal { return [.boolean(false)] }
        }
        return unknown ? [] : [.boolean(true)]
    }

    func singleString(_ items: [FHIRPathValue], _ what: String) throws(FHIRPathError) -> String? {
        guard let item = items.first else { return nil }
        guard items.count == 1, case .string(let text) = item.system else {
            throw FHIRPathError(.execution, "'\(what)' applies to a single string")
        }
        return text
    }

    static func union(_ left: [FHIRPathValue], _ right: [FHIRPathValue]) -> [FHIRPathValue] {
        var result: [FHIRPathValue] = []
        for item in left + right where !result.contains(where: { equal($0, item) == true }) { result.append(item) }
        return result
    }

    /// Equality of two items (FHIRPath §Equality): nil when it cannot be told
    /// (dates of different precision).
    static func equal(_ a: FHIRPathValue, _ b: FHIRPathValue) -> Bool? {
        if case .node(let x) = a, case .node(let y) = b, x.value?.objectValue != nil || y.value?.objectValue != nil {
            if FHIRSchema.r4.isType(x.type, a: "Quantity"), FHIRSchema.r4.isType(y.type, a: "Quantity"),
                case .quantity(let qx) = a.system, case .quantity(let qy) = b.system
            {
                return quantityCompare(qx, qy, equality: true).map { $0 == 0 }
            }
            return x.value == y.value && x.primitiveExtension == y.primitiveExtension
        }
        switch (a.system, b.system) {
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.integer(let x), .decimal(let y)): return Decimal(x) == y.value
        case (.decimal(let x), .integer(let y)): return x.value == Decimal(y)
        case (.decimal(let x), .decimal(let y)): return x.value == y.value
        case (.temporal(let x), .temporal(let y)):
            if (x.kind == .time) != (y.kind == .time) { return false }
            if x.kind == .date && y.kind == .dateTime && y.precision > .day { return nil }
            if y.kind == .date && x.kind == .dateTime && x.precision > .day { return nil }
            return FHIRPathTemporal.compare(x, y).map { $0 == 0 }
        case (.quantity(let x), .quantity(let y)): return quantityCompare(x, y, equality: true).map { $0 == 0 }
        case (.typeInfo(let n1, let x), .typeInfo(let n2, let y)): return n1 == n2 && x == y
        case (.node(let x), .node(let y)): return x.value == y.value
        default: return false
        }
    }

    /// -1/0/1 between quantities of comparable units; nil otherwise.
    static func quantityCompare(_ x: FHIRPathQuantity, _ y: FHIRPathQuantity, equality: Bool) -> Int? {
        if x.unit == y.unit { return compareDecimals(x.value.value, y.value.value) }
        // Calendar years and months are not the UCUM 'a' and 'mo' for equality.
        if equality, x.isCalendarDuration != y.isCalendarDuration,
            ["a", "mo"].contains(x.ucumCode) || ["a", "mo"].contains(y.ucumCode)
        {
            return nil
        }
        guard let ux = UCUMUnit.parse(x.ucumCode), let uy = UCUMUnit.parse(y.ucumCode), ux.dimensions == uy.dimensions else { return nil }
        return compareDecimals(x.value.value * ux.factor, y.value.value * uy.factor)
    }

    static func compareDecimals(_ x: Decimal, _ y: Decimal) -> Int { x < y ? -1 : (x > y ? 1 : 0) }

    static func equivalentCollections(_ left: [FHIRPathValue], _ right: [FHIRPathValue]) -> Bool {
        if left.isEmpty && right.isEmpty { return true }
        guard left.count == right.count else { return false }
        var remaining = right
        for item in left {
            guard let index = remaining.firstIndex(where: { equivalent(item, $0) }) else { return false }
            remaining.remove(at: index)
        }
        return true
    }

    /// Equivalence (FHIRPath §Equivalence): strings ignoring case and
    /// spacing, decimals at the lesser precision, dates false when their
    /// precisions differ.
    static func equivalent(_ a: FHIRPathValue, _ b: FHIRPathValue) -> Bool {
        if case .node(let x) = a, case .node(let y) = b, x.value?.objectValue != nil, y.value?.objectValue != nil,
            !(FHIRSchema.r4.isType(x.type, a: "Quantity") && FHIRSchema.r4.isType(y.type, a: "Quantity"))
        {
            let xc = x.children().filter { $0.name != "id" }, yc = y.children().filter { $0.name != "id" }
            return equivalentCollections(xc.map { .node($0) }, yc.map { .node($0) })
        }
        switch (a.system, b.system) {
        case (.string(let x), .string(let y)): return normalise(x) == normalise(y)
        case (.decimal, _), (_, .decimal):
            guard let x = decimal(a.system), let y = decimal(b.system) else { return false }
            let scale = min(x.scale ?? FHIRPathDecimal.naturalScale(x.value), y.scale ?? FHIRPathDecimal.naturalScale(y.value))
            return x.rounded(scale) == y.rounded(scale)
        case (.temporal(let x), .temporal(let y)): return FHIRPathTemporal.compare(x, y) == 0
        case (.quantity(let x), .quantity(let y)):
            if x.unit == y.unit || UCUMUnit.parse(x.ucumCode) != nil {
                guard let ux = UCUMUnit.parse(x.ucumCode), let uy = UCUMUnit.parse(y.ucumCode), ux.dimensions == uy.dimensions else {
                    return x.unit == y.unit && x.value == y.value
                }
                let lx = FHIRPathDecimal(x.value.value * ux.factor), ly = FHIRPathDecimal(y.value.value * uy.factor)
                let scale = min(x.value.scale ?? 8, y.value.scale ?? 8)
                return lx.rounded(scale) == ly.rounded(scale) || lx.rounded(max(scale - 2, 0)) == ly.rounded(max(scale - 2, 0))
            }
            return false
        default: return equal(a, b) ?? false
        }
    }

    static func decimal(_ value: FHIRPathValue) -> FHIRPathDecimal? {
        switch value {
        case .integer(let i): return FHIRPathDecimal(Decimal(i), scale: 0)
        case .decimal(let d): return d
        default: return nil
        }
    }

    static func normalise(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Order of two items (FHIRPath §Comparison); nil when unknown at the
    /// precisions; an error when the types cannot be compared.
    static func compare(_ a: FHIRPathValue, _ b: FHIRPathValue) throws(FHIRPathError) -> Int? {
        switch (a.system, b.system) {
        case (.integer(let x), .integer(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.string(let x), .string(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.temporal(let x), .temporal(let y)):
            guard (x.kind == .time) == (y.kind == .time) else { throw FHIRPathError(.execution, "a time cannot be compared with a date") }
            return FHIRPathTemporal.compare(x, y)
        case (.quantity(let x), .quantity(let y)):
            guard let order = quantityCompare(x, y, equality: false) else {
                throw FHIRPathError(.execution, "quantities in '\(x.unit)' and '\(y.unit)' cannot be compared")
            }
            return order
        case (let x, let y):
            if let dx = decimal(x), let dy = decimal(y) { return compareDecimals(dx.value, dy.value) }
            throw FHIRPathError(.execution, "\(x.typeName.name) and \(y.typeName.name) cannot be compared")
        }
    }

    static func arithmetic(_ op: String, _ a: FHIRPathValue, _ b: FHIRPathValue) throws(FHIRPathError) -> FHIRPathValue? {
        switch (a, b) {
        case (.integer(let x), .integer(let y)):
            switch op {
            case "+": let (r, o) = x.addingReportingOverflow(y); return o ? nil : .integer(r)
            case "-": let (r, o) = x.subtractingReportingOverflow(y); return o ? nil : .integer(r)
            case "*": let (r, o) = x.multipliedReportingOverflow(by: y); return o ? nil : .integer(r)
            case "/": return y == 0 ? nil : .decimal(FHIRPathDecimal(Decimal(x) / Decimal(y)))
            case "div": return y == 0 ? nil : .integer(x / y)
            default: return y == 0 ? nil : .integer(x % y)
            }
        case (.string(let x), .string(let y)) where op == "+": return .string(x + y)
        case (.temporal(let t), .quantity(let q)) where op == "+" || op == "-":
            guard q.isCalendarDuration || ["wk", "d", "h", "min", "s", "ms"].contains(q.unit) else {
                // UCUM 'a' and 'mo' are not calendar years and months (FHIRPath §Date/Time Arithmetic).
                throw FHIRPathError(.execution, "'\(q.unit)' is not a unit dates can add")
            }
            let amount = op == "+" ? q.value.value : -q.value.value
            return t.adding(amount, unit: q.unit).map { .temporal($0) }
        case (.quantity(let x), .quantity(let y)):
            return try quantityArithmetic(op, x, y)
        case (.quantity(let x), _):
            guard let factor = decimal(b), op == "*" || op == "/" else { throw FHIRPathError(.execution, "'\(op)' cannot combine a quantity and \(b.typeName.name)") }
            if op == "/" && factor.value == 0 { return nil }
            let value = op == "*" ? x.value.value * factor.value : x.value.value / factor.value
            return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(value), unit: x.unit))
        case (_, .quantity(let y)) where op == "*":
            guard let factor = decimal(a) else { throw FHIRPathError(.execution, "'*' cannot combine \(a.typeName.name) and a quantity") }
            return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(y.value.value * factor.value), unit: y.unit))
        default:
            guard let x = decimal(a), let y = decimal(b) else {
                throw FHIRPathError(.execution, "'\(op)' cannot combine \(a.typeName.name) and \(b.typeName.name)")
            }
            switch op {
            case "+": return .decimal(FHIRPathDecimal(x.value + y.value, scale: max(x.scale ?? 0, y.scale ?? 0)))
            case "-": return .decimal(FHIRPathDecimal(x.value - y.value, scale: max(x.scale ?? 0, y.scale ?? 0)))
            case "*": return .decimal(FHIRPathDecimal(x.value * y.value))
            case "/": return y.value == 0 ? nil : .decimal(FHIRPathDecimal(x.value / y.value))
            case "div":
                guard y.value != 0 else { return nil }
                return .integer(NSDecimalNumber(decimal: FHIRPathDecimal(x.value / y.value).rounded(0, .down)).intValue)
            default:
                guard y.value != 0 else { return nil }
                let quotient = FHIRPathDecimal(x.value / y.value).rounded(0, .down)
                return .decimal(FHIRPathDecimal(x.value - quotient * y.value, scale: max(x.scale ?? 0, y.scale ?? 0)))
            }
        }
    }

    static func quantityArithmetic(_ op: String, _ x: FHIRPathQuantity, _ y: FHIRPathQuantity) throws(FHIRPathError) -> FHIRPathValue? {
        guard let ux = UCUMUnit.parse(x.ucumCode), let uy = UCUMUnit.parse(y.ucumCode) else {
            guard x.unit == y.unit, op == "+" || op == "-" else { throw FHIRPathError(.execution, "unknown units '\(x.unit)', '\(y.unit)'") }
            let value = op == "+" ? x.value.value + y.value.value : x.value.value - y.value.value
            return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(value), unit: x.unit))
        }
        switch op {
        case "+", "-":
            guard ux.dimensions == uy.dimensions else { throw FHIRPathError(.execution, "'\(x.unit)' and '\(y.unit)' do not add") }
            let converted = y.value.value * uy.factor / ux.factor
            let value = op == "+" ? x.value.value + converted : x.value.value - converted
            return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(value), unit: x.unit))
        case "*", "/":
            let unit = op == "*" ? ux.times(uy) : ux.times(uy.power(-1))
            if op == "/" && y.value.value == 0 { return nil }
            let value = op == "*" ? x.value.value * y.value.value * ux.factor * uy.factor : x.value.value * ux.factor / (y.value.value * uy.factor)
            return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(value), unit: canonicalCode(unit)))
        default:
            throw FHIRPathError(.execution, "'\(op)' does not apply to quantities")
        }
    }

    /// A UCUM code in base units for a computed unit (`m2`, `g/m`, `1`).
    static func canonicalCode(_ unit: UCUMUnit) -> String {
        let names = ["m", "g", "s", "mol", "K", "A", "cd", "[arb'U]"]
        var numerator: [String] = [], denominator: [String] = []
        for (index, exponent) in unit.dimensions.enumerated() where exponent != 0 {
            let term = names[index] + (abs(exponent) == 1 ? "" : String(abs(exponent)))
            if exponent > 0 { numerator.append(term) } else { denominator.append(term) }
        }
        if numerator.isEmpty && denominator.isEmpty { return "1" }
        return (numerator.isEmpty ? "1" : numerator.joined(separator: ".")) + (denominator.isEmpty ? "" : "/" + denominator.joined(separator: "/"))
    }
}
