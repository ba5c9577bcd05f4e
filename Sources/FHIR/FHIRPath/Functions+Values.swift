import Foundation

extension FHIRPathEvaluator {
    func stringInput(_ items: [FHIRPathValue], _ name: String) throws(FHIRPathError) -> String? {
        guard let item = items.first else { return nil }
        guard items.count == 1 else { throw FHIRPathError(.execution, "\(name)() applies to one string, got \(items.count) items") }
        guard case .string(let text) = item.system else {
            throw FHIRPathError(.semantic, "\(name)() applies to strings, not \(item.typeName.name)")
        }
        return text
    }

    func stringFunction(_ name: String, _ text: String, _ arguments: [[FHIRPathValue]]) throws(FHIRPathError) -> [FHIRPathValue] {
        func string(_ index: Int) throws(FHIRPathError) -> String? {
            guard arguments.indices.contains(index) else { throw FHIRPathError(.semantic, "\(name)() needs more arguments") }
            return try singleString(arguments[index], "\(name)()")
        }
        func integer(_ index: Int) throws(FHIRPathError) -> Int? {
            guard arguments.indices.contains(index) else { return nil }
            return try singleInteger(arguments[index], "\(name)()")
        }
        let characters = Array(text)
        switch name {
        case "indexOf":
            guard let part = try string(0) else { return [] }
            if part.isEmpty { return [.integer(0)] }
            guard let range = text.range(of: part) else { return [.integer(-1)] }
            return [.integer(text.distance(from: text.startIndex, to: range.lowerBound))]
        case "substring":
            guard let start = try integer(0) else { return [] }
            guard start >= 0, start < characters.count else { return [] }
            let length = arguments.count > 1 ? try integer(1) : nil
            if arguments.count > 1 && length == nil { return [.string(String(characters[start...]))] }
            let end = length.map { min(characters.count, start + max($0, 0)) } ?? characters.count
            return [.string(String(characters[start..<end]))]
        case "startsWith": return try string(0).map { [.boolean(text.hasPrefix($0))] } ?? []
        case "endsWith": return try string(0).map { [.boolean(text.hasSuffix($0))] } ?? []
        case "contains": return try string(0).map { [.boolean($0.isEmpty || text.contains($0))] } ?? []
        case "upper": return [.string(text.uppercased())]
        case "lower": return [.string(text.lowercased())]
        case "replace":
            guard let pattern = try string(0), let replacement = try string(1) else { return [] }
            if pattern.isEmpty { return [.string(replacement + characters.map { String($0) + replacement }.joined())] }
            return [.string(text.replacingOccurrences(of: pattern, with: replacement))]
        case "matches", "matchesFull":
            guard let pattern = try string(0) else { return [] }
            let regex = try Self.regex(name == "matchesFull" ? "^(?:" + pattern + ")$" : pattern)
            return [.boolean(regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil)]
        case "replaceMatches":
            guard let pattern = try string(0), let replacement = try string(1) else { return [] }
            if pattern.isEmpty { return [.string(text)] }
            let regex = try Self.regex(pattern)
            return [.string(regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: replacement))]
        case "length": return [.integer(characters.count)]
        case "toChars": return characters.map { .string(String($0)) }
        case "trim": return [.string(text.trimmingCharacters(in: .whitespacesAndNewlines))]
        case "split":
            guard let separator = try string(0) else { return [] }
            if separator.isEmpty { return characters.map { .string(String($0)) } }
            return text.components(separatedBy: separator).map { .string($0) }
        case "encode", "decode":
            guard let format = try string(0) else { return [] }
            return try Self.encoding(name == "encode", format, text).map { [.string($0)] } ?? []
        case "escape", "unescape":
            guard let target = try string(0) else { return [] }
            return [.string(Self.escaping(name == "escape", target, text))]
        default:
            throw FHIRPathError(.semantic, "unknown function \(name)()")
        }
    }

    static func regex(_ pattern: String) throws(FHIRPathError) -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators])
        } catch {
            throw FHIRPathError(.execution, "'\(pattern)' is not a regular expression")
        }
    }

    static func encoding(_ encode: Bool, _ format: String, _ text: String) throws(FHIRPathError) -> String? {
        switch (format, encode) {
        case ("base64", true): return Data(text.utf8).base64EncodedString()
        case ("urlbase64", true):
            return Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        case ("hex", true): return text.utf8.map { String(format: "%02x", $0) }.joined()
        case ("base64", false), ("urlbase64", false):
            var normal = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while normal.count % 4 != 0 { normal += "=" }
            return Data(base64Encoded: normal).flatMap { String(data: $0, encoding: .utf8) }
        case ("hex", false):
            var bytes: [UInt8] = []
            var iterator = Array(text)
            guard iterator.count % 2 == 0 else { return nil }
            while !iterator.isEmpty {
                guard let byte = UInt8(String(iterator.prefix(2)), radix: 16) else { return nil }
                bytes.append(byte)
                iterator.removeFirst(2)
            }
            return String(decoding: bytes, as: UTF8.self)
        default: throw FHIRPathError(.execution, "unknown encoding '\(format)'")
        }
    }

    static func escaping(_ escape: Bool, _ target: String, _ text: String) -> String {
        let html: [(String, String)] = [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\"", "&quot;"), ("'", "&#39;")]
        let json: [(String, String)] = [("\\", "\\\\"), ("\"", "\\\""), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")]
        let table = target == "html" ? html : json
        var result = text
        if escape {
            for (raw, escaped) in table { result = result.replacingOccurrences(of: raw, with: escaped) }
        } else {
            for (raw, escaped) in table.reversed() { result = result.replacingOccurrences(of: escaped, with: raw) }
        }
        return result
    }

    func math(_ name: String, _ value: FHIRPathValue, _ arguments: [[FHIRPathValue]]) throws(FHIRPathError) -> [FHIRPathValue] {
        if case .quantity(let q) = value, name == "abs" {
            return [.quantity(FHIRPathQuantity(value: FHIRPathDecimal(abs(q.value.value), scale: q.value.scale), unit: q.unit))]
        }
        guard let number = Self.decimal(value) else { throw FHIRPathError(.execution, "\(name)() applies to numbers, not \(value.typeName.name)") }
        let isInteger: Bool = if case .integer = value { true } else { false }
        let double = number.doubleValue
        func decimal(_ d: Double) -> [FHIRPathValue] {
            d.isFinite ? [.decimal(FHIRPathDecimal(Decimal(string: String(d)) ?? Decimal(d)))] : []
        }
        switch name {
        case "abs":
            guard isInteger, case .integer(let integer) = value else { return [.decimal(FHIRPathDecimal(abs(number.value), scale: number.scale))] }
            guard integer != Int.min else { throw FHIRPathError(.execution, "abs(\(integer)) is outside the integers") }
            return [.integer(abs(integer))]
        case "ceiling": return [.integer(NSDecimalNumber(decimal: number.rounded(0, .up)).intValue)]
        case "floor": return [.integer(NSDecimalNumber(decimal: number.rounded(0, .down)).intValue)]
        case "truncate": return [.integer(NSDecimalNumber(decimal: number.value).intValue)]
        case "exp": return decimal(Foundation.exp(double))
        case "ln": return double > 0 ? decimal(Foundation.log(double)) : []
        case "sqrt": return double >= 0 ? decimal(Foundation.sqrt(double)) : []
        case "log":
            guard let base = arguments.first.flatMap({ $0.first }).flatMap({ Self.decimal($0.system) }) else { return [] }
            return decimal(Foundation.log(double) / Foundation.log(base.doubleValue))
        case "power":
            guard let exponentValue = arguments.first?.first?.system, let exponent = Self.decimal(exponentValue) else { return [] }
            let result = Foundation.pow(double, exponent.doubleValue)
            guard result.isFinite else { return [] }
            if isInteger, case .integer = exponentValue, exponent.value >= 0, abs(result) < 9.2e18 { return [.integer(Int(result))] }
            return decimal(result)
        case "round":
            let digits = try arguments.first.flatMap { (a) throws(FHIRPathError) -> Int? in try singleInteger(a, "round()") } ?? 0
            guard digits >= 0 else { throw FHIRPathError(.execution, "round() needs a non-negative precision") }
            var source = number.value, result = Decimal()
            NSDecimalRound(&result, &source, digits, number.value < 0 ? .down : .plain)
            if number.value < 0 { NSDecimalRound(&result, &source, digits, .plain) }
            return [.decimal(FHIRPathDecimal(result, scale: digits))]
        default: throw FHIRPathError(.semantic, "unknown function \(name)()")
        }
    }

    func conversion(_ name: String, _ items: [FHIRPathValue], _ argument: [FHIRPathValue]?) throws(FHIRPathError) -> [FHIRPathValue] {
        guard let item = items.first else { return [] }
        guard items.count == 1 else { throw FHIRPathError(.execution, "\(name)() applies to one item, got \(items.count)") }
        let value = item.system
        let converted: FHIRPathValue?
        let target = name.hasPrefix("convertsTo") ? String(name.dropFirst("convertsTo".count)) : String(name.dropFirst(2))
        switch target {
        case "Boolean":
            switch value {
            case .boolean: converted = value
            case .integer(let i): converted = i == 0 ? .boolean(false) : (i == 1 ? .boolean(true) : nil)
            case .decimal(let d): converted = d.value == 0 ? .boolean(false) : (d.value == 1 ? .boolean(true) : nil)
            case .string(let s):
                switch s.lowercased() {
                case "true", "t", "yes", "y", "1", "1.0": converted = .boolean(true)
                case "false", "f", "no", "n", "0", "0.0": converted = .boolean(false)
                default: converted = nil
                }
            default: converted = nil
            }
        case "Integer":
            switch value {
            case .integer: converted = value
            case .boolean(let b): converted = .integer(b ? 1 : 0)
            case .string(let s): converted = Self.isIntegerText(s) ? Int(s).map { .integer($0) } : nil
            default: converted = nil
            }
        case "Decimal":
            switch value {
            case .decimal: converted = value
            case .integer(let i): converted = .decimal(FHIRPathDecimal(Decimal(i), scale: 0))
            case .boolean(let b): converted = .decimal(FHIRPathDecimal(b ? 1 : 0, scale: 0))
            case .string(let s): converted = FHIRPathDecimal(text: s).map { .decimal($0) }
            default: converted = nil
            }
        case "String":
            switch value {
            case .node: converted = nil
            default: converted = value.text.map { .string($0) }
            }
        case "Date":
            switch value {
            case .temporal(let t) where t.kind != .time:
                var copy = t
                copy.kind = .date
                if copy.precision > .day { copy.precision = .day }
                copy.timeZoneOffset = nil
                converted = .temporal(copy)
            case .string(let s): converted = FHIRPathTemporal(s, kind: .date).map { .temporal($0) }
            default: converted = nil
            }
        case "DateTime":
            switch value {
            case .temporal(let t) where t.kind != .time:
                var copy = t
                copy.kind = .dateTime
                converted = .temporal(copy)
            case .string(let s): converted = FHIRPathTemporal(s, kind: .dateTime).map { .temporal($0) }
            default: converted = nil
            }
        case "Time":
            switch value {
            case .temporal(let t) where t.kind == .time: converted = value
            case .string(let s): converted = FHIRPathTemporal(s, kind: .time).map { .temporal($0) }
            default: converted = nil
            }
        case "Quantity":
            switch value {
            case .quantity: converted = value
            case .integer(let i): converted = .quantity(FHIRPathQuantity(value: FHIRPathDecimal(Decimal(i), scale: 0), unit: "1"))
            case .decimal(let d): converted = .quantity(FHIRPathQuantity(value: d, unit: "1"))
            case .boolean(let b): converted = .quantity(FHIRPathQuantity(value: FHIRPathDecimal(b ? 1 : 0, scale: 1), unit: "1"))
            case .string(let s): converted = Self.quantity(from: s).map { .quantity($0) }
            default: converted = nil
            }
            if case .quantity(let q)? = converted, let unitValues = argument, let unit = try singleString(unitValues, "toQuantity()"), unit != q.unit {
                if let from = UCUMUnit.parse(q.ucumCode), let to = UCUMUnit.parse(UCUMUnit.calendarUnits[unit] ?? unit), from.dimensions == to.dimensions {
                    return name.hasPrefix("convertsTo") ? [.boolean(true)]
                        : [.quantity(FHIRPathQuantity(value: FHIRPathDecimal(q.value.value * from.factor / to.factor), unit: unit))]
                }
                return name.hasPrefix("convertsTo") ? [.boolean(false)] : []
            }
        default: throw FHIRPathError(.semantic, "unknown function \(name)()")
        }
        if name.hasPrefix("convertsTo") { return [.boolean(converted != nil)] }
        return converted.map { [$0] } ?? []
    }

    static func isIntegerText(_ text: String) -> Bool {
        var body = Substring(text)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        return !body.isEmpty && body.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// `1.5 'mg'`, `4 days`, `1` → a quantity (FHIRPath §toQuantity).
    static func quantity(from text: String) -> FHIRPathQuantity? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" }
        guard let value = FHIRPathDecimal(text: String(number)) else { return nil }
        let rest = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces)
        if rest.isEmpty { return FHIRPathQuantity(value: value, unit: "1") }
        if rest.hasPrefix("'") && rest.hasSuffix("'") && rest.count >= 2 {
            return FHIRPathQuantity(value: value, unit: String(rest.dropFirst().dropLast()))
        }
        if UCUMUnit.calendarUnits[rest] != nil { return FHIRPathQuantity(value: value, unit: rest) }
        return nil
    }

    /// lowBoundary, highBoundary and precision (FHIRPath 3.0, in the R4 suite).
    func boundary(_ name: String, _ value: FHIRPathValue, _ digits: Int?) throws(FHIRPathError) -> [FHIRPathValue] {
        switch value {
        case .integer, .decimal:
            let number = Self.decimal(value)!
            let written = number.scale ?? FHIRPathDecimal.naturalScale(number.value)
            if name == "precision" { return [.integer(written)] }
            let target = digits ?? 8
            guard target >= 0, target <= 28 else { return [] }
            let half = Decimal(sign: .plus, exponent: -(written + 1), significand: 5)
            let edge = name == "lowBoundary" ? number.value - half : number.value + half
            let result = Self.floorOrCeiling(edge, digits: target, floor: name == "lowBoundary")
            return [.decimal(FHIRPathDecimal(result, scale: target))]
        case .quantity(let q):
            guard case .decimal(let d)? = try boundary(name, .decimal(q.value), digits).first else { return [] }
            return [.quantity(FHIRPathQuantity(value: d, unit: q.unit))]
        case .temporal(let t):
            if name == "precision" { return [.integer(t.digitPrecision)] }
            return Self.temporalBoundary(t, low: name == "lowBoundary", digits: digits).map { [.temporal($0)] } ?? []
        default: return []
        }
    }

    /// Rounds toward negative infinity (floor) or positive infinity.
    static func floorOrCeiling(_ value: Decimal, digits: Int, floor: Bool) -> Decimal {
        // Foundation's .down rounds toward negative infinity and .up toward positive.
        var source = value, result = Decimal()
        NSDecimalRound(&result, &source, digits, floor ? .down : .up)
        return result
    }

    static func temporalBoundary(_ t: FHIRPathTemporal, low: Bool, digits: Int?) -> FHIRPathTemporal? {
        var result = t
        let target: FHIRPathTemporal.Precision
        if t.kind == .time {
            switch digits ?? 9 {
            case 2: target = .hour
            case 4: target = .minute
            case 6: target = .second
            case 9: target = .millisecond
            default: return nil
            }
        } else {
            switch digits ?? (t.kind == .date ? 8 : 17) {
            case 4: target = .year
            case 6: target = .month
            case 8: target = .day
            case 10: target = .hour
            case 12: target = .minute
            case 14: target = .second
            case 17: target = .millisecond
            default: return nil
            }
        }
        if t.precision < .month { result.month = low ? 1 : 12 }
        if t.precision < .day { result.day = low ? 1 : FHIRPathTemporal.daysIn(month: result.month, year: result.year) }
        if t.precision < .hour { result.hour = low ? 0 : 23 }
        if t.precision < .minute { result.minute = low ? 0 : 59 }
        if t.precision < .second { result.second = low ? 0 : 59 }
        if t.precision < .millisecond { result.millisecond = low ? 0 : 999 }
        result.precision = target
        if t.kind == .date && target > .day { result.kind = .dateTime }
        if result.kind == .dateTime && target >= .hour && result.timeZoneOffset == nil {
            result.timeZoneOffset = low ? 14 * 60 : -12 * 60
        }
        return result
    }
}
