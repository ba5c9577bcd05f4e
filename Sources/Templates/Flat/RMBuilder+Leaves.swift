import Foundation
import JSONCore
import OpenEHR

extension RMBuilder {
    /// Writes one suffix of a leaf value (`|code`, `|magnitude`, no suffix
    /// for the value itself) into the object at `attribute`.
    func write(into node: Node, attribute: String, type: String, suffix: String?, value: JSON) throws(FlatComposition.KeyError) {
        if type == "STRING" {
            guard suffix == nil else { throw FlatComposition.KeyError(message: "a text attribute takes no '|\(suffix!)'") }
            node.object[attribute] = .string(Self.text(value))
            return
        }
        var leaf = node.object[attribute]?.objectValue ?? JSONObject()
        var leafType = leaf["_type"]?.stringValue ?? concreteLeaf(type)
        let text = Self.text(value)
        func number() throws(FlatComposition.KeyError) -> JSON {
            if case .number = value { return value }
            guard Double(text) != nil else { throw FlatComposition.KeyError(message: "'\(text)' is not a number") }
            return .number(text)
        }
        func code(_ object: inout JSONObject, _ key: String, _ field: String) {
            var phrase = object[key]?.objectValue ?? JSONObject([("_type", "CODE_PHRASE")])
            if field == "terminology" { phrase["terminology_id"] = ["_type": "TERMINOLOGY_ID", "value": .string(text)] } else { phrase["code_string"] = .string(text) }
            if phrase["terminology_id"] == nil { phrase["terminology_id"] = ["_type": "TERMINOLOGY_ID", "value": "local"] }
            object[key] = .object(phrase)
        }
        switch (leafType, suffix) {
        case ("DV_TEXT", nil), ("DV_TEXT", "value"), ("DV_CODED_TEXT", "value"), ("DV_DATE_TIME", nil), ("DV_DATE", nil), ("DV_TIME", nil),
            ("DV_DURATION", nil), ("DV_URI", nil), ("DV_EHR_URI", nil), ("DV_PARSABLE", nil), ("DV_PARSABLE", "value"), ("HIER_OBJECT_ID", nil),
            ("DV_DATE_TIME", "value"), ("DV_DATE", "value"), ("DV_TIME", "value"), ("DV_DURATION", "value"):
            leaf["value"] = .string(text)
        case ("DV_CODED_TEXT", nil), ("DV_CODED_TEXT", "code"): code(&leaf, "defining_code", "code")
        case ("DV_CODED_TEXT", "terminology"): code(&leaf, "defining_code", "terminology")
        case ("DV_CODED_TEXT", "other"), ("DV_TEXT", "other"):
            leafType = "DV_TEXT"
            leaf = JSONObject([("value", .string(text))])
        case ("DV_DURATION", "year"), ("DV_DURATION", "month"), ("DV_DURATION", "week"), ("DV_DURATION", "day"),
            ("DV_DURATION", "hour"), ("DV_DURATION", "minute"), ("DV_DURATION", "second"):
            // The parts of an ISO 8601 duration, kept until every one is known.
            var parts = node.durationParts[attribute] ?? [:]
            parts[suffix!] = text
            node.durationParts[attribute] = parts
            leaf["value"] = .string(Self.duration(parts))
        case ("DV_QUANTITY", "magnitude"): leaf["magnitude"] = try number()
        case ("DV_QUANTITY", "unit"): leaf["units"] = .string(text)
        case ("DV_QUANTITY", "precision"): leaf["precision"] = try number()
        case ("DV_COUNT", nil), ("DV_COUNT", "magnitude"): leaf["magnitude"] = try number()
        case ("DV_BOOLEAN", nil), ("DV_BOOLEAN", "value"):
            guard let flag = value.boolValue ?? (text == "true" ? true : (text == "false" ? false : nil)) else {
                throw FlatComposition.KeyError(message: "'\(text)' is not a boolean")
            }
            leaf["value"] = .bool(flag)
        case ("DV_ORDINAL", "ordinal"): leaf["value"] = try number()
        case ("DV_ORDINAL", "value"), ("DV_ORDINAL", "code"), ("DV_ORDINAL", "terminology"), ("DV_ORDINAL", nil):
            var symbol = leaf["symbol"]?.objectValue ?? JSONObject([("_type", "DV_CODED_TEXT")])
            if suffix == "value" { symbol["value"] = .string(text) } else { code(&symbol, "defining_code", suffix ?? "code") }
            leaf["symbol"] = .object(symbol)
        case ("DV_PROPORTION", "numerator"), ("DV_PROPORTION", "denominator"), ("DV_PROPORTION", "type"), ("DV_PROPORTION", "precision"):
            leaf[suffix!] = try number()
        case ("DV_IDENTIFIER", "id"), ("DV_IDENTIFIER", "issuer"), ("DV_IDENTIFIER", "assigner"), ("DV_IDENTIFIER", "type"), ("DV_IDENTIFIER", nil):
            leaf[suffix ?? "id"] = .string(text)
        case ("DV_PARSABLE", "formalism"): leaf["formalism"] = .string(text)
        case ("DV_MULTIMEDIA", nil), ("DV_MULTIMEDIA", "url"), ("DV_MULTIMEDIA", "value"): leaf["uri"] = ["_type": "DV_URI", "value": .string(text)]
        case ("DV_MULTIMEDIA", "mediatype"): code(&leaf, "media_type", "code")
        case ("DV_MULTIMEDIA", "size"): leaf["size"] = try number()
        case ("DV_MULTIMEDIA", "alternatetext"): leaf["alternate_text"] = .string(text)
        case ("DV_MULTIMEDIA", "data"): leaf["data"] = .string(text)
        case ("CODE_PHRASE", nil), ("CODE_PHRASE", "code"): leaf["code_string"] = .string(text)
        case ("CODE_PHRASE", "terminology"): leaf["terminology_id"] = ["_type": "TERMINOLOGY_ID", "value": .string(text)]
        case ("PARTY_IDENTIFIED", "name"), ("PARTY_SELF", "name"):
            leafType = "PARTY_IDENTIFIED"
            leaf["name"] = .string(text)
        case ("PARTY_IDENTIFIED", "id"), ("PARTY_SELF", "id"), ("PARTY_IDENTIFIED", "id_scheme"), ("PARTY_SELF", "id_scheme"),
            ("PARTY_IDENTIFIED", "id_namespace"), ("PARTY_SELF", "id_namespace"):
            var reference = leaf["external_ref"]?.objectValue ?? JSONObject([("namespace", "local"), ("type", "PARTY")])
            var id = reference["id"]?.objectValue ?? JSONObject([("_type", "GENERIC_ID"), ("scheme", "local")])
            switch suffix {
            case "id": id["value"] = .string(text)
            case "id_scheme": id["scheme"] = .string(text)
            default: reference["namespace"] = .string(text)
            }
            reference["id"] = .object(id)
            leaf["external_ref"] = .object(reference)
        case ("OBJECT_REF", "id"), ("LOCATABLE_REF", "id"):
            var id = leaf["id"]?.objectValue ?? JSONObject([("_type", "GENERIC_ID"), ("scheme", "local")])
            id["value"] = .string(text)
            leaf["id"] = .object(id)
        case ("OBJECT_REF", "id_scheme"), ("LOCATABLE_REF", "id_scheme"):
            var id = leaf["id"]?.objectValue ?? JSONObject([("_type", "GENERIC_ID")])
            id["scheme"] = .string(text)
            leaf["id"] = .object(id)
        case ("OBJECT_REF", "namespace"), ("OBJECT_REF", "type"), ("LOCATABLE_REF", "namespace"), ("LOCATABLE_REF", "type"):
            leaf[suffix!] = .string(text)
        case ("INSTRUCTION_DETAILS", "composition_uid"), ("INSTRUCTION_DETAILS", "path"):
            var reference = leaf["instruction_id"]?.objectValue ?? JSONObject([("_type", "LOCATABLE_REF"), ("namespace", "local"), ("type", "COMPOSITION")])
            if suffix == "path" { reference["path"] = .string(text) } else { reference["id"] = ["_type": "HIER_OBJECT_ID", "value": .string(text)] }
            leaf["instruction_id"] = .object(reference)
        case ("INSTRUCTION_DETAILS", "activity_id"): leaf["activity_id"] = .string(text)
        case ("LINK", "meaning"), ("LINK", "type"): leaf[suffix!] = ["_type": "DV_TEXT", "value": .string(text)]
        case ("LINK", "target"): leaf["target"] = ["_type": "DV_EHR_URI", "value": .string(text)]
        case ("PARTICIPATION", "function"): leaf["function"] = ["_type": "DV_TEXT", "value": .string(text)]
        case ("PARTICIPATION", "mode"):
            // The mode by its rubric in the openEHR participation_mode group.
            let code = OpenEHRTerminology.shared.groups["participation_mode"]?.first { $0.value == text }?.key ?? "193"
            leaf["mode"] = ["_type": "DV_CODED_TEXT", "value": .string(text),
                            "defining_code": ["_type": "CODE_PHRASE", "terminology_id": ["_type": "TERMINOLOGY_ID", "value": "openehr"], "code_string": .string(code)]]
        case ("PARTICIPATION", "name"), ("PARTICIPATION", "id"), ("PARTICIPATION", "id_scheme"), ("PARTICIPATION", "id_namespace"):
            let holder = Node(type: "PARTICIPATION", constraint: nil, terms: [:])
            holder.object["performer"] = leaf["performer"] ?? ["_type": "PARTY_IDENTIFIED"]
            try write(into: holder, attribute: "performer", type: "PARTY_IDENTIFIED", suffix: suffix, value: value)
            leaf["performer"] = holder.object["performer"]
        default:
            throw FlatComposition.KeyError(message: "\(leafType) takes no \(suffix.map { "'|\($0)'" } ?? "value without a suffix")")
        }
        leaf["_type"] = .string(leafType)
        node.object[attribute] = .object(leaf)
        // An event with a width is an interval event.
        if node.type == "POINT_EVENT" && (attribute == "width" || attribute == "math_function") {
            node.type = "INTERVAL_EVENT"
            node.object["_type"] = "INTERVAL_EVENT"
        }
    }

    /// `P1Y2M3W4DT5H6M7S` from its parts, in ISO 8601's order.
    static func duration(_ parts: [String: String]) -> String {
        var text = "P"
        for (key, letter) in [("year", "Y"), ("month", "M"), ("week", "W"), ("day", "D")] { if let value = parts[key] { text += value + letter } }
        let time = [("hour", "H"), ("minute", "M"), ("second", "S")].compactMap { key, letter in parts[key].map { $0 + letter } }
        if !time.isEmpty { text += "T" + time.joined() }
        return text == "P" ? "PT0S" : text
    }

    /// An ISM transition sent with its state only: the careflow step the
    /// template pairs with that state (the first, where several do).
    func completeTransition(_ object: inout JSONObject, _ node: Node) {
        guard case .object(var transition)? = object["ism_transition"], transition["careflow_step"] == nil,
            let state = transition["current_state"]?["defining_code"]?["code_string"]?.stringValue,
            let alternatives = node.constraint?.attribute("ism_transition")?.children
        else { return }
        for alternative in alternatives where WebTemplate.codes(alternative.attribute("current_state")).contains(state) {
            guard let step = WebTemplate.codes(alternative.attribute("careflow_step")).first else { continue }
            transition["careflow_step"] = [
                "_type": "DV_CODED_TEXT", "value": .string(node.terms[step]?.text ?? step),
                "defining_code": ["_type": "CODE_PHRASE", "terminology_id": ["_type": "TERMINOLOGY_ID", "value": "local"], "code_string": .string(step)],
            ]
            object["ism_transition"] = .object(transition)
            return
        }
    }

    func concreteLeaf(_ type: String) -> String {
        switch type {
        case "PARTY_PROXY": "PARTY_SELF"
        case "DV_STATE": "DV_CODED_TEXT"
        default: type
        }
    }

    static func text(_ value: JSON) -> String {
        switch value {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): b ? "true" : "false"
        default: JSONSerializer.string(value)
        }
    }

    /// The composition: the tree as JSON, the `ctx/` defaults applied, and
    /// the RM's mandatory attributes the keys left out filled as in an example.
    func finish(context: [String: JSON]) -> JSON {
        let language = context["language"].map(Self.text) ?? template.language
        let examples = ExampleComposition(template: template, time: context["time"].map(Self.text) ?? ISODateTime.now().description)
        if let territory = context["territory"] {
            root.object["territory"] = examples.codePhrase("ISO_3166-1", [Self.text(territory)])
        }
        root.object["language"] = root.object["language"] ?? examples.codePhrase("ISO_639-1", [language])
        if let composer = context["composer_name"] {
            var party = JSONObject([("_type", "PARTY_IDENTIFIED"), ("name", .string(Self.text(composer)))])
            if let id = context["composer_id"] {
                party["external_ref"] = ["id": ["_type": "GENERIC_ID", "value": .string(Self.text(id)), "scheme": "local"], "namespace": "local", "type": "PARTY"]
            }
            root.object["composer"] = root.object["composer"] ?? .object(party)
        }
        return json(root, examples: examples, language: language)
    }

    func json(_ node: Node, examples: ExampleComposition, language: String) -> JSON {
        var object = node.object
        var attributes: [String] = []
        for child in node.children where !attributes.contains(child.attribute) { attributes.append(child.attribute) }
        for attribute in attributes {
            let items = node.children.filter { $0.attribute == attribute }.map { json($0.node, examples: examples, language: language) }
            let isList = schema[node.type]?.attributes[attribute]?.isList ?? false
            object[attribute] = isList ? .array(items) : items.first
        }
        if schema[node.type]?.attributes["language"] != nil, object["language"] == nil {
            object["language"] = examples.codePhrase("ISO_639-1", [language])
        }
        if node.type == "ACTION" { completeTransition(&object, node) }
        // Mandatory attributes the keys left out: as the template makes them, else RM defaults.
        for name in schema[node.type]?.requiredInOrder ?? [] where object[name] == nil {
            if let constraint = node.constraint?.attribute(name),
                let value = examples.attribute(constraint, owner: node.type, terms: node.terms, depth: 0)
            {
                object[name] = value
            }
        }
        examples.fillRequired(&object, type: node.type, generic: nil, depth: 0)
        return .object(object)
    }
}
