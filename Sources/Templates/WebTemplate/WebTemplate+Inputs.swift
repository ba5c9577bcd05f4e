import JSONCore

/// The inputs of a web template node: how a form fills its data value
/// (`suffix`, `type`, code lists, units, ranges, patterns, defaults), from
/// the template's constraints on the value.
extension WebTemplate {
    /// The inputs of a data value constraint (`suffix`, `type`, code
    /// lists with labels, units with their ranges), each with the
    /// `defaultValue` the template gives the value at `path` or its
    /// constraints assume.
    func inputs(_ value: CObject, terms: [String: ArchetypeTerm], path: String? = nil) -> [JSON] {
        var parts = Self.assumedParts(value)
        if let path { for given in defaultIndex.values(at: path) { parts.merge(given) { _, template in template } } }
        let defaults = Self.defaults(parts, type: RMTypeName.split(value.rmTypeName).base)
        guard !defaults.isEmpty else { return plainInputs(value, terms: terms) }
        return plainInputs(value, terms: terms).map { input in
            guard case .object(var object) = input, let assumed = defaults[object["suffix"]?.stringValue ?? ""] else { return input }
            object["defaultValue"] = assumed
            return .object(object)
        }
    }

    /// The parts of a data value its constraints assume (AM 1.4
    /// `assumed_value`), named as `OperationalTemplate.defaultValues` names them.
    static func assumedParts(_ value: CObject) -> [String: String] {
        var parts = value.assumedValue
        parts["value"] = nil
        for attribute in ["value", "magnitude", "numerator", "denominator"] {
            if let assumed = value.attribute(attribute)?.children.first?.assumedValue["value"] { parts[attribute] = assumed }
        }
        if let code = value.attribute("defining_code")?.children.first?.assumedValue["code"] { parts["code"] = code }
        return parts
    }

    /// A data value's default parts as input values by suffix (`""` for an
    /// input without one), typed as the input is.
    static func defaults(_ parts: [String: String], type: String) -> [String: JSON] {
        guard !parts.isEmpty else { return [:] }
        func number(_ text: String?) -> JSON? { text.flatMap(Double.init).map { .number(Self.number($0)) } }
        var result: [String: JSON] = [:]
        switch type {
        case "DV_CODED_TEXT":
            result["code"] = parts["code"].map { .string($0) }
        case "DV_QUANTITY":
            result["magnitude"] = number(parts["magnitude"])
            result["unit"] = parts["units"].map { .string($0) }
        case "DV_ORDINAL":
            result[""] = parts["code"].map { .string($0) }
        case "DV_COUNT":
            result[""] = parts["magnitude"].flatMap { Int($0) }.map { JSON($0) }
        case "DV_BOOLEAN":
            result[""] = parts["value"].flatMap { $0 == "true" ? true : $0 == "false" ? false : nil }.map { .bool($0) }
        case "DV_TEXT", "DV_DATE_TIME", "DV_DATE", "DV_TIME":
            result[""] = parts["value"].map { .string($0) }
        case "DV_PROPORTION":
            result["numerator"] = number(parts["numerator"])
            result["denominator"] = number(parts["denominator"])
        case "DV_DURATION":
            // Each field its amount in the default duration, 0 where it has none.
            if let duration = parts["value"], case let amounts = DurationFields.amounts(duration), !amounts.isEmpty {
                for field in ["year", "month", "day", "week", "hour", "minute", "second"] { result[field] = JSON(amounts[field] ?? 0) }
            }
        default: break
        }
        return result
    }

    func plainInputs(_ value: CObject, terms: [String: ArchetypeTerm]) -> [JSON] {
        let type = RMTypeName.split(value.rmTypeName).base
        switch type {
        case "DV_TEXT":
            var input: JSONObject = JSONObject([("type", "TEXT")])
            if let list = value.attribute("value")?.children.first, case .primitive(.string(_, let items)) = list.kind, !items.isEmpty {
                input["list"] = .array(items.map { ["value": .string($0), "label": .string($0)] })
                input["listOpen"] = false
            }
            return [.object(input)]
        case "DV_CODED_TEXT":
            guard let code = value.attribute("defining_code")?.children.first else {
                return [["suffix": "code", "type": "TEXT"], ["suffix": "value", "type": "TEXT"]]
            }
            switch code.kind {
            case .codePhrase(let terminology, let codes) where !codes.isEmpty:
                let list: [JSON] = codes.map { code in
                    // External codes are defined in the template as `terminology::code`.
                    let term = terms[code] ?? terminology.flatMap { terms["\($0)::\(code)"] }
                    var item = JSONObject([("value", .string(code)), ("label", .string(term?.text ?? code))])
                    if let term {
                        localizedTerm(term, into: &item)
                    }
                    return .object(item)
                }
                return [["suffix": "code", "type": "CODED_TEXT", "list": .array(list), "terminology": .string(terminology ?? "local")]]
            case .codePhrase(let terminology, _):
                let source = terminology ?? Self.valueSet(code.referenceSetURI)
                let named: [(String, JSON)] = source.map { [("terminology", JSON.string($0))] } ?? []
                return [.object(JSONObject([("suffix", "code"), ("type", "TEXT")] + named)), .object(JSONObject([("suffix", "value"), ("type", "TEXT")] + named))]
            case .constraintReference where code.referenceSetURI != nil:
                let source = Self.valueSet(code.referenceSetURI)
                let named: [(String, JSON)] = source.map { [("terminology", JSON.string($0))] } ?? []
                return [.object(JSONObject([("suffix", "code"), ("type", "TEXT")] + named)), .object(JSONObject([("suffix", "value"), ("type", "TEXT")] + named))]
            default:
                return [["suffix": "code", "type": "TEXT"], ["suffix": "value", "type": "TEXT"]]
            }
        case "DV_QUANTITY":
            guard case .quantity(_, let items) = value.kind else {
                return [["suffix": "magnitude", "type": "DECIMAL"], ["suffix": "unit", "type": "TEXT"]]
            }
            guard !items.isEmpty else { return [["suffix": "magnitude", "type": "DECIMAL"], ["suffix": "unit", "type": "CODED_TEXT"]] }
            let units: [JSON] = items.map { item in
                var unit = JSONObject([("value", .string(item.units)), ("label", .string(item.units))])
                var validation = JSONObject()
                if let precision = item.precision { validation["precision"] = Self.intRange(precision) }
                if let range = item.magnitude { validation["range"] = Self.range(range) }
                if !validation.isEmpty { unit["validation"] = .object(validation) }
                return .object(unit)
            }
            var magnitude = JSONObject([("suffix", "magnitude"), ("type", "DECIMAL")])
            // One unit: its precision and range are the magnitude's.
            if items.count == 1 {
                var validation = JSONObject()
                if let precision = items[0].precision { validation["precision"] = Self.intRange(precision) }
                if let range = items[0].magnitude { validation["range"] = Self.range(range) }
                if !validation.isEmpty { magnitude["validation"] = .object(validation) }
            }
            return [.object(magnitude), ["suffix": "unit", "type": "CODED_TEXT", "list": .array(units)]]
        case "DV_COUNT":
            if let magnitude = value.attribute("magnitude")?.children.first, case .primitive(.integer(_, let range?)) = magnitude.kind {
                return [["type": "INTEGER", "validation": ["range": Self.intRange(range)]]]
            }
            return [["type": "INTEGER"]]
        case "DV_BOOLEAN":
            if let value = value.attribute("value")?.children.first, case .primitive(.boolean(let trueValid, let falseValid)) = value.kind,
                trueValid != falseValid
            {
                let only = trueValid ? "true" : "false"
                return [["type": "BOOLEAN", "list": [["value": .string(only), "label": .string(only)]]]]
            }
            return [["type": "BOOLEAN"]]
        case "DV_DATE_TIME": return [["type": "DATETIME"]]
        case "DV_DATE": return [["type": "DATE"]]
        case "DV_TIME": return [["type": "TIME"]]
        case "DV_DURATION":
            var pattern: String?
            var range: ConstraintInterval<String>?
            if let primitive = value.attribute("value")?.children.first, case .primitive(.duration(let p, let r)) = primitive.kind {
                pattern = p
                range = r
            }
            return Self.durationFields(pattern: pattern).map { field in
                var bounds = JSONObject([("min", 0), ("minOp", ">=")])
                // A bound given in this one field (`PT24H`, `P0D`) limits it.
                if let lower = range?.lower, let amount = Self.singleField(lower), amount.field == field {
                    bounds["min"] = JSON(amount.value)
                    bounds["minOp"] = range?.lowerIncluded == false ? ">" : ">="
                }
                if let upper = range?.upper, let amount = Self.singleField(upper), amount.field == field {
                    bounds["max"] = JSON(amount.value)
                    bounds["maxOp"] = range?.upperIncluded == false ? "<" : "<="
                }
                return ["suffix": .string(field), "type": "INTEGER", "validation": ["range": .object(bounds)]]
            }
        case "DV_ORDINAL":
            guard case .ordinal(let items) = value.kind, !items.isEmpty else { return [["type": "CODED_TEXT"]] }
            let list: [JSON] = items.map { item in
                var entry = JSONObject([("value", .string(item.code)), ("label", .string(terms[item.code]?.text ?? item.code))])
                if let term = terms[item.code] {
                    localizedTerm(term, into: &entry)
                }
                entry["ordinal"] = JSON(item.value)
                return .object(entry)
            }
            return [["type": "CODED_TEXT", "list": .array(list)]]
        case "DV_PROPORTION":
            // The numerator's and denominator's ranges, where the template limits them.
            // A proportion kind the template fixes fixes the denominator (RM 1.1.0
            // DV_PROPORTION invariants: a unitary one's is 1, a percent's 100).
            var kind: Int?
            if let constraint = value.attribute("type")?.children.first, case .primitive(.integer(let list, _)) = constraint.kind, list.count == 1 {
                kind = list[0]
            }
            return ["numerator", "denominator"].map { part in
                var input = JSONObject([("suffix", .string(part)), ("type", "DECIMAL")])
                var limits: ConstraintInterval<Double>?
                // A single allowed value is a range from it to itself.
                if let constraint = value.attribute(part)?.children.first, case .primitive(.real(let list, let range)) = constraint.kind {
                    limits = range ?? (list.count == 1 ? ConstraintInterval(lower: list[0], upper: list[0]) : nil)
                } else if part == "denominator", let fixed = kind == 1 ? 1.0 : kind == 2 ? 100.0 : nil {
                    limits = ConstraintInterval(lower: fixed, upper: fixed)
                }
                if let limits { input["validation"] = ["range": Self.range(limits)] }
                return .object(input)
            }
        case "DV_IDENTIFIER": return ["id", "type", "issuer", "assigner"].map { ["suffix": .string($0), "type": "TEXT"] }
        case "DV_PARSABLE": return [["suffix": "value", "type": "TEXT"], ["suffix": "formalism", "type": "TEXT"]]
        case "DV_STATE": return [["suffix": "code", "type": "TEXT"], ["suffix": "value", "type": "TEXT"]]
        case "DV_URI", "DV_EHR_URI", "DV_MULTIMEDIA": return [["type": "TEXT"]]
        default: return []
        }
    }

    static func range(_ interval: ConstraintInterval<Double>) -> JSON {
        var range = JSONObject()
        if let lower = interval.lower {
            range["min"] = .number(Self.number(lower))
            range["minOp"] = .string(interval.lowerIncluded ? ">=" : ">")
        }
        if let upper = interval.upper {
            range["max"] = .number(Self.number(upper))
            range["maxOp"] = .string(interval.upperIncluded ? "<=" : "<")
        }
        return .object(range)
    }

    static func intRange(_ interval: ConstraintInterval<Int>) -> JSON {
        var range = JSONObject()
        if let lower = interval.lower { range["min"] = JSON(lower); range["minOp"] = .string(interval.lowerIncluded ? ">=" : ">") }
        if let upper = interval.upper { range["max"] = JSON(upper); range["maxOp"] = .string(interval.upperIncluded ? "<=" : "<") }
        return .object(range)
    }

    /// A value set named by URI stands for the terminology (`terminology:` dropped).
    static func valueSet(_ uri: String?) -> String? {
        uri.map { $0.hasPrefix("terminology:") ? String($0.dropFirst("terminology:".count)) : $0 }
    }

    /// Decimals as EHRbase writes them (`0.0`, `37.5`).
    static func number(_ value: Double) -> String { String(value) }

    /// The DV_DURATION fields a C_DURATION pattern allows, in the web
    /// template's order (week after day, as EHRbase lists them); every field
    /// without a pattern.
    static func durationFields(pattern: String?) -> [String] {
        let all = ["year", "month", "day", "week", "hour", "minute", "second"]
        guard let allowed = DurationFields.allowed(by: pattern) else { return all }
        return all.filter(allowed.contains)
    }

    /// `PT24H` → (hour, 24): a duration written in one field with a whole number.
    static func singleField(_ duration: String) -> (field: String, value: Int)? {
        let amounts = DurationFields.amounts(duration)
        guard amounts.count == 1, let only = amounts.first else { return nil }
        return (only.key, only.value)
    }
}
