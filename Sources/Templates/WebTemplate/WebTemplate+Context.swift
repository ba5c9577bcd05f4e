import JSONCore
import OpenEHR

extension WebTemplate {
    /// The RM attributes a form gets from its context, after the
    /// archetype's own nodes (COMPOSITION composer, language, territory;
    /// an ENTRY's subject, language, encoding; an EVENT's time; …).
    func contextNodes(_ type: String, path: String) -> [JSON] {
        func node(_ id: String, _ rmType: String, min: Int = 1, inputs: [JSON] = [], inContext: Bool = true) -> JSON {
            var object = JSONObject()
            object["id"] = .string(id)
            object["name"] = .string(id)
            object["rmType"] = .string(rmType)
            object["min"] = JSON(min)
            object["max"] = 1
            object["aqlPath"] = .string(path + "/" + id)
            if !inputs.isEmpty { object["inputs"] = .array(inputs) }
            if inContext { object["inContext"] = true }
            return .object(object)
        }
        let party: [JSON] = ["id", "id_scheme", "id_namespace", "name"].map { ["suffix": .string($0), "type": "TEXT"] }
        let dateTime: [JSON] = [["type": "DATETIME"]]
        let codedText: [JSON] = [["suffix": "code", "type": "TEXT"], ["suffix": "value", "type": "TEXT"]]
        let entry = [node("subject", "PARTY_PROXY", inputs: party), node("language", "CODE_PHRASE"), node("encoding", "CODE_PHRASE")]
        switch type {
        case "COMPOSITION":
            return [node("composer", "PARTY_PROXY", inputs: party), node("language", "CODE_PHRASE"), node("territory", "CODE_PHRASE")]
        case "EVENT_CONTEXT":
            return [node("start_time", "DV_DATE_TIME", inputs: dateTime), node("setting", "DV_CODED_TEXT", inputs: codedText)]
        case "OBSERVATION", "EVALUATION", "ADMIN_ENTRY", "GENERIC_ENTRY":
            return entry
        case "INSTRUCTION":
            return [entry[0], node("narrative", "DV_TEXT", inputs: [["type": "TEXT"]]), entry[1], entry[2],
                    node("expiry_time", "DV_DATE_TIME", min: 0, inputs: dateTime, inContext: false)]
        case "ACTION":
            var activity = node("activity_id", "STRING", inputs: [["type": "TEXT"]], inContext: false)
            var instruction = node("instruction_id", "LOCATABLE_REF", inContext: false)
            for index in [0, 1] {
                guard case .object(var object) = index == 0 ? activity : instruction else { continue }
                object["aqlPath"] = .string(path + "/instruction_details/" + (object["id"]?.stringValue ?? ""))
                if index == 0 { activity = .object(object) } else { instruction = .object(object) }
            }
            return entry + [activity, instruction, node("time", "DV_DATE_TIME", inputs: dateTime)]
        case "ACTIVITY":
            return [node("timing", "DV_PARSABLE", min: 0, inputs: [["suffix": "value", "type": "TEXT"], ["suffix": "formalism", "type": "TEXT"]]),
                    node("action_archetype_id", "STRING", inputs: [["type": "TEXT"]])]
        case "EVENT", "POINT_EVENT":
            return [node("time", "DV_DATE_TIME", inputs: dateTime)]
        case "INTERVAL_EVENT":
            let duration: [JSON] = ["year", "month", "day", "week", "hour", "minute", "second"].map {
                ["suffix": .string($0), "type": "INTEGER", "validation": ["range": ["min": 0, "minOp": ">="]]]
            }
            return [node("time", "DV_DATE_TIME", inputs: dateTime), node("width", "DV_DURATION", inputs: duration, inContext: false),
                    node("math_function", "DV_CODED_TEXT", inputs: codedText, inContext: false)]
        default:
            return []
        }
    }

    /// COMPOSITION.category (event or persistent, from the template).
    func categoryNode() -> JSONObject {
        var category = JSONObject()
        category["id"] = "category"
        category["name"] = "category"
        category["localizedName"] = "category"
        category["rmType"] = "DV_CODED_TEXT"
        category["min"] = 1
        category["max"] = 1
        category["aqlPath"] = "/category"
        let code = categoryCode()
        let label = code == "431" ? "persistent" : "event"
        category["inputs"] = [[
            "suffix": "code", "type": "CODED_TEXT",
            "list": [["value": .string(code), "label": .string(label), "localizedLabels": .object(JSONObject([(language, .string(label))]))]],
            "terminology": "openehr",
        ]]
        category["inContext"] = true
        return category
    }

    func categoryCode() -> String {
        guard let category = template.definition.attribute("category")?.children.first,
            let definingCode = category.attribute("defining_code")?.children.first,
            case .codePhrase(_, let codes) = definingCode.kind, let code = codes.first
        else { return "433" }
        return code
    }

    /// The inputs of a data value constraint (`suffix`, `type`, code
    /// lists with labels, units with their ranges).
    func inputs(_ value: CObject, terms: [String: ArchetypeTerm]) -> [JSON] {
        let type = Self.baseType(value.rmTypeName)
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
                if let range = item.magnitude { validation["range"] = Self.range(range) }
                if let precision = item.precision { validation["precision"] = Self.intRange(precision) }
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
            return ["year", "month", "day", "week", "hour", "minute", "second"].map {
                ["suffix": .string($0), "type": "INTEGER", "validation": ["range": ["min": 0, "minOp": ">="]]]
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
        case "DV_PROPORTION": return [["suffix": "numerator", "type": "DECIMAL"], ["suffix": "denominator", "type": "DECIMAL"]]
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
}

extension WebTemplate {
    /// An ACTION's ISM transition as one node: the careflow steps of every
    /// alternative the template allows (each with the states it may be in)
    /// and the states they name.
    func ismTransition(_ alternatives: [CObject], path: String, terms: [String: ArchetypeTerm]) -> JSON {
        let here = path + "/ism_transition"
        var steps: [JSON] = []
        var states: [String] = []
        for alternative in alternatives {
            // Each alternative's states, as EHRbase lists them (repeats included).
            let stateCodes = Self.codes(alternative.attribute("current_state"))
            states += stateCodes
            for step in Self.codes(alternative.attribute("careflow_step")) {
                var item = JSONObject([("value", .string(step)), ("label", .string(terms[step]?.text ?? step))])
                if let term = terms[step] {
                    localizedTerm(term, into: &item)
                }
                item["currentStates"] = .array(stateCodes.map { .string($0) })
                steps.append(.object(item))
            }
        }
        let terminology = OpenEHRTerminology.shared
        let stateItems: [JSON] = states.map { code in
            let rubric = terminology.groups["instruction_states"]?[code] ?? code
            return ["value": .string(code), "label": .string(rubric), "localizedLabels": .object(JSONObject([(language, .string(rubric))]))]
        }
        func child(_ id: String, _ name: String, min: Int, inputs: [JSON]) -> JSON {
            var object = JSONObject()
            object["id"] = .string(id)
            object["name"] = .string(name)
            object["rmType"] = "DV_CODED_TEXT"
            object["min"] = JSON(min)
            object["max"] = 1
            object["aqlPath"] = .string(here + "/" + id)
            object["inputs"] = .array(inputs)
            object["inContext"] = true
            return .object(object)
        }
        var children: [JSON] = []
        if !steps.isEmpty {
            children.append(child("careflow_step", "Careflow_step", min: 1, inputs: [["suffix": "code", "type": "CODED_TEXT", "list": .array(steps), "terminology": "local"]]))
        }
        let stateInputs: [JSON] = stateItems.isEmpty
            ? [["suffix": "code", "type": "TEXT"], ["suffix": "value", "type": "TEXT"]]
            : [["suffix": "code", "type": "CODED_TEXT", "list": .array(stateItems), "terminology": "openehr"]]
        children.append(child("current_state", "Current_state", min: 1, inputs: stateInputs))
        children.append(child("transition", "transition", min: 0, inputs: [["suffix": "code", "type": "TEXT"], ["suffix": "value", "type": "TEXT"]]))
        var node = JSONObject()
        node["id"] = "ism_transition"
        node["name"] = "ism_transition"
        node["rmType"] = "ISM_TRANSITION"
        node["min"] = 1
        node["max"] = 1
        node["aqlPath"] = .string(here)
        node["children"] = .array(children)
        node["inContext"] = true
        return .object(node)
    }

    /// The codes a DV_CODED_TEXT attribute constraint allows.
    static func codes(_ attribute: CAttribute?) -> [String] {
        guard let coded = attribute?.children.first, let code = coded.attribute("defining_code")?.children.first,
            case .codePhrase(_, let codes) = code.kind
        else { return [] }
        return codes
    }
}
