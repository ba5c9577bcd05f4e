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
