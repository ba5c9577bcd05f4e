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
        // A code without its terminology: the one the RM gives the attribute, else the archetype's own.
        let defaultTerminology = attribute == "current_state" || attribute == "transition" ? "openehr" : "local"
        func code(_ object: inout JSONObject, _ key: String, _ field: String) {
            var phrase = object[key]?.objectValue ?? JSONObject([("_type", "CODE_PHRASE")])
            if field == "terminology" { phrase["terminology_id"] = ["_type": "TERMINOLOGY_ID", "value": .string(text)] } else { phrase["code_string"] = .string(text) }
            if phrase["terminology_id"] == nil {
                let terminology = key == "media_type" ? "IANA_media-types" : defaultTerminology
                phrase["terminology_id"] = ["_type": "TERMINOLOGY_ID", "value": .string(terminology)]
            }
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
            leaf["value"] = .string(DurationFields.text(parts))
        case ("DV_QUANTITY", "magnitude"): leaf["magnitude"] = try number()
        case ("DV_QUANTITY", "unit"): leaf["units"] = .string(text)
        case ("DV_QUANTITY", "precision"): leaf["precision"] = try number()
        case ("DV_COUNT", nil), ("DV_COUNT", "magnitude"), ("DV_COUNT", "value"): leaf["magnitude"] = try number()
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
        case ("DV_PROPORTION", "numerator"), ("DV_PROPORTION", "denominator"):
            leaf[suffix!] = try number()
        case ("DV_PROPORTION", "type"), ("DV_PROPORTION", "precision"):
            // Integers, also when written `1.0`.
            guard let number = Double(text), number == number.rounded(), abs(number) < 1e9 else {
                throw FlatComposition.KeyError(message: "'\(text)' is not an integer")
            }
            leaf[suffix!] = .number(String(Int(number)))
        case ("DV_PROPORTION", nil):
            // The proportion's magnitude: its numerator over 1 unless they are given.
            let magnitude = try number()
            if leaf["numerator"] == nil { leaf["numerator"] = magnitude }
            if leaf["denominator"] == nil { leaf["denominator"] = 1 }
            if leaf["type"] == nil { leaf["type"] = 1 }
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
        case ("PARTY_IDENTIFIED", "name"), ("PARTY_SELF", "name"), ("PARTY_RELATED", "name"):
            if leafType == "PARTY_SELF" { leafType = "PARTY_IDENTIFIED" }
            leaf["name"] = .string(text)
        case ("PARTY_IDENTIFIED", "id"), ("PARTY_SELF", "id"), ("PARTY_RELATED", "id"), ("PARTY_IDENTIFIED", "id_scheme"), ("PARTY_SELF", "id_scheme"),
            ("PARTY_RELATED", "id_scheme"), ("PARTY_IDENTIFIED", "id_namespace"), ("PARTY_SELF", "id_namespace"), ("PARTY_RELATED", "id_namespace"):
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
        case ("DV_TEXT", "code"), ("DV_TEXT", "terminology"):
            // A code given to a text node: the text is a coded text (DV_CODED_TEXT is a DV_TEXT).
            leafType = "DV_CODED_TEXT"
            code(&leaf, "defining_code", suffix!)
        case ("PARTICIPATION", let part?) where part.hasPrefix("identifiers_"):
            // `|identifiers_id:0`, `|identifiers_issuer:0`: the performer's DV_IDENTIFIERs.
            let field = part.dropFirst("identifiers_".count)
            let colon = field.lastIndex(of: ":")
            let name = String(colon.map { field[..<$0] } ?? field)
            let index = colon.flatMap { Int(field[field.index(after: $0)...]) } ?? 0
            guard ["id", "issuer", "assigner", "type"].contains(name), (0..<FlatComposition.maximumIndex).contains(index) else {
                throw FlatComposition.KeyError(message: "PARTICIPATION takes no '|\(part)'")
            }
            var performer = leaf["performer"]?.objectValue ?? JSONObject([("_type", "PARTY_IDENTIFIED")])
            var identifiers = performer["identifiers"]?.arrayValue ?? []
            while identifiers.count <= index { identifiers.append(["_type": "DV_IDENTIFIER"]) }
            if case .object(var identifier) = identifiers[index] {
                identifier[name] = .string(text)
                identifiers[index] = .object(identifier)
            }
            performer["identifiers"] = .array(identifiers)
            leaf["performer"] = .object(performer)
        case (_, "_type"?):
            // The RM type where the position admits several (`|_type`: OBJECT_VERSION_ID, PARTY_RELATED).
            guard RMSchema.rm110[text] != nil else {
                throw FlatComposition.KeyError(message: "'\(text)' is not an RM type")
            }
            leafType = text
        case (_, let name?):
            // Any other attribute of the value by its RM name: `|magnitude_status`, `|normal_status`, `|formatting`.
            try Self.writeAttribute(name, of: leafType, into: &leaf, value: value)
        case (_, nil) where RMSchema.rm110[leafType]?.attributes["value"]?.primitive == .string:
            // An identifier or other value object given by its value.
            leaf["value"] = .string(text)
        default:
            throw FlatComposition.KeyError(message: "\(leafType) takes no \(suffix.map { "'|\($0)'" } ?? "value without a suffix")")
        }
        // A coded text given by its code: its rubric from the archetype's terms or the openEHR terminology.
        if leafType == "DV_CODED_TEXT" { Self.fillRubric(&leaf, terms: node.terms, template: template) }
        if leafType == "DV_ORDINAL", case .object(var symbol)? = leaf["symbol"] {
            Self.fillRubric(&symbol, terms: node.terms, template: template)
            leaf["symbol"] = .object(symbol)
        }
        // An activity's timing is in the openEHR timing syntax unless said otherwise.
        if leafType == "DV_PARSABLE", leaf["formalism"] == nil { leaf["formalism"] = attribute == "timing" ? "timing" : "text/plain" }
        leaf["_type"] = .string(leafType)
        node.object[attribute] = .object(leaf)
        // An event with a width is an interval event.
        if node.type == "POINT_EVENT" && (attribute == "width" || attribute == "math_function") {
            node.type = "INTERVAL_EVENT"
            node.object["_type"] = "INTERVAL_EVENT"
        }
    }

    static func fillRubric(_ text: inout JSONObject, terms: [String: ArchetypeTerm], template: OperationalTemplate) {
        guard text["value"] == nil, let code = text["defining_code"]?["code_string"]?.stringValue else { return }
        let terminology = text["defining_code"]?["terminology_id"]?["value"]?.stringValue ?? "local"
        let rubric = ExampleComposition(template: template, time: "").rubric(code, terminologyID: terminology, terms: terms)
        if rubric != code { text["value"] = .string(rubric) }
    }

    /// The terminology of a code phrase attribute given by its code alone.
    static let codePhraseTerminologies = [
        "normal_status": "openehr_normal_statuses", "compression_algorithm": "openehr_compression_algorithms",
        "integrity_check_algorithm": "openehr_integrity_check_algorithms", "charset": "IANA_character-sets", "language": "ISO_639-1",
        "encoding": "IANA_character-sets", "media_type": "IANA_media-types", "property": "openehr",
    ]
    static let intervalAttributes: Set<String> = ["lower", "upper", "lower_included", "upper_included", "lower_unbounded", "upper_unbounded"]

    /// An RM attribute of a value named as a FLAT suffix (`|accuracy`) or
    /// path step: primitives by their RM kind, code phrases by their code,
    /// texts by their value. A reference range's interval parts are its range's.
    static func writeAttribute(_ name: String, of type: String, into object: inout JSONObject, value: JSON) throws(FlatComposition.KeyError) {
        if type == "REFERENCE_RANGE", intervalAttributes.contains(name) {
            var range = object["range"]?.objectValue ?? JSONObject([("_type", "DV_INTERVAL")])
            try writeAttribute(name, of: "DV_INTERVAL", into: &range, value: value)
            object["range"] = .object(range)
            return
        }
        guard let attribute = RMSchema.rm110[type]?.attributes[name], !attribute.isList, name != "_type" else {
            throw FlatComposition.KeyError(message: "\(type) takes no '|\(name)'")
        }
        let text = text(value)
        switch attribute.primitive {
        case .string?:
            object[name] = .string(text)
        case .number?:
            guard Double(text) != nil else { throw FlatComposition.KeyError(message: "'\(text)' is not a number (\(type).\(name))") }
            object[name] = .number(text)
        case .integer?:
            guard let number = Int(text) else { throw FlatComposition.KeyError(message: "'\(text)' is not an integer (\(type).\(name))") }
            object[name] = .number(String(number))
        case .boolean?:
            guard let flag = value.boolValue ?? ["true": true, "false": false][text] else {
                throw FlatComposition.KeyError(message: "'\(text)' is not a boolean (\(type).\(name))")
            }
            object[name] = .bool(flag)
        case .object?:
            throw FlatComposition.KeyError(message: "\(type).\(name) is a value: name its parts (\(name)|magnitude)")
        case nil:
            let valued = attribute.types.first { RMSchema.rm110[$0]?.attributes["value"]?.primitive == .string }
            if attribute.types.contains("CODE_PHRASE") {
                object[name] = [
                    "_type": "CODE_PHRASE", "terminology_id": ["_type": "TERMINOLOGY_ID", "value": .string(codePhraseTerminologies[name] ?? "local")],
                    "code_string": .string(text),
                ]
            } else if attribute.types.contains("DV_TEXT") {
                object[name] = ["_type": "DV_TEXT", "value": .string(text)]
            } else if let valued {
                // A date-time, a duration, an identifier: its value.
                object[name] = .object(JSONObject([("_type", .string(valued)), ("value", .string(text))]))
            } else {
                throw FlatComposition.KeyError(message: "\(type).\(name) is a \(attribute.types.first ?? "value"): name its parts")
            }
        }
    }

    /// An ordinal sent by one half: its value from the template's item of its
    /// symbol's code, or its symbol (code, terminology, the term's text)
    /// from the one item of its value. What the keys give is not changed (an
    /// ordinal the template does not list, or a value several items share,
    /// is the validator's to refuse). `element`: the ELEMENT whose value it
    /// is (its constraint lists the ordinals).
    func completeOrdinal(_ object: inout JSONObject, _ element: Node) {
        let items = element.constraint?.attribute("value")?.children.flatMap { child -> [OrdinalItem] in
            if case .ordinal(let items) = child.kind { return items }
            return []
        } ?? []
        guard !items.isEmpty else { return }
        let code = object["symbol"]?["defining_code"]?["code_string"]?.stringValue
        if object["value"] == nil, let code, let item = items.first(where: { $0.code == code }) {
            object["value"] = JSON(item.value)
        }
        // By value only where one item has it (NEWS2's respiration rate scores 3 for both ≤8 and ≥25).
        if code == nil, let value = object["value"].flatMap({ Int(JSONSerializer.string($0)) }),
            case let matching = items.filter({ $0.value == value }), matching.count == 1, let item = matching.first
        {
            var symbol = object["symbol"]?.objectValue ?? JSONObject([("_type", "DV_CODED_TEXT")])
            if symbol["value"] == nil { symbol["value"] = .string(element.terms[item.code]?.text ?? item.code) }
            symbol["defining_code"] = [
                "_type": "CODE_PHRASE", "terminology_id": ["_type": "TERMINOLOGY_ID", "value": .string(item.terminology)], "code_string": .string(item.code),
            ]
            object["symbol"] = .object(symbol)
        }
    }

    /// An ISM transition sent with its state only, where the template
    /// requires a careflow step: the step it pairs with that state (the
    /// first, where several do).
    func completeTransition(_ object: inout JSONObject, _ node: Node) {
        guard case .object(var transition)? = object["ism_transition"], transition["careflow_step"] == nil,
            let state = transition["current_state"]?["defining_code"]?["code_string"]?.stringValue,
            let alternatives = node.constraint?.attribute("ism_transition")?.children
        else { return }
        for alternative in alternatives where WebTemplate.codes(alternative.attribute("current_state")).contains(state) {
            // Only a step the template requires: an optional one the keys leave out stays out (as openFHIR and the RM leave it).
            guard let careflow = alternative.attribute("careflow_step"), (careflow.existence.lower ?? 0) >= 1,
                let step = WebTemplate.codes(careflow).first
            else { continue }
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
    func finish(context: FlatContext) -> JSON {
        let language = context.language ?? template.language
        let examples = ExampleComposition(template: template, time: context.time ?? ISODateTime.now().description)
        if let territory = context.territory {
            root.object["territory"] = root.object["territory"] ?? examples.codePhrase("ISO_3166-1", [territory])
        }
        root.object["language"] = root.object["language"] ?? examples.codePhrase("ISO_639-1", [language])
        if root.object["composer"] == nil {
            if context.composerSelf {
                var party = JSONObject([("_type", "PARTY_SELF")])
                if let id = context.composerID { party["external_ref"] = context.partyReference(id: id, scheme: nil, namespace: nil) }
                root.object["composer"] = .object(party)
            } else if context.composerName != nil || context.composerID != nil {
                root.object["composer"] = .object(context.party(name: context.composerName, id: context.composerID))
            }
        }
        var composition = json(root, examples: examples, language: language)
        // The event context's defaults.
        if case .object(var object) = composition, case .object(var eventContext)? = object["context"] {
            if let end = context.endTime, eventContext["end_time"] == nil { eventContext["end_time"] = ["_type": "DV_DATE_TIME", "value": .string(end)] }
            if let location = context.location, eventContext["location"] == nil { eventContext["location"] = .string(location) }
            if let setting = context.setting, root.children.first(where: { $0.attribute == "context" })?.node.object["setting"] == nil {
                // A code of the openEHR setting group, or its rubric.
                let group = OpenEHRTerminology.shared.groups["setting"] ?? [:]
                let code = group[setting] != nil ? setting : group.first { $0.value == setting }?.key ?? setting
                eventContext["setting"] = examples.codedText(code, terminologyID: "openehr", terms: [:])
            }
            if !context.facility.isEmpty, eventContext["health_care_facility"] == nil {
                let fields = context.facility
                eventContext["health_care_facility"] = .object(
                    context.party(name: fields["name"], id: fields["id"], scheme: fields["id_scheme"], namespace: fields["id_namespace"]))
            }
            object["context"] = .object(eventContext)
            composition = .object(object)
        }
        context.applyToEntries(&composition)
        return composition
    }

    func json(_ node: Node, examples: ExampleComposition, language: String) -> JSON {
        // Sections the template requires that no key names (they hold no data of their own): made, with their name.
        for attribute in node.constraint?.attributes ?? [] {
            for section in attribute.children where section.rmTypeName == "SECTION" && (section.occurrences.lower ?? 0) >= 1 {
                let id = section.archetypeID ?? section.nodeID
                let name = WebTemplate.fixedName(section)
                let present = node.children.filter { $0.attribute == attribute.name && $0.node.constraint.map { ($0.archetypeID ?? $0.nodeID) == id && WebTemplate.fixedName($0) == name } == true }
                for index in present.count..<max(present.count, section.occurrences.lower ?? 0) {
                    _ = child(of: node, AQLStep(attribute: attribute.name, nodeID: id, name: name), index: index)
                }
            }
        }
        var object = node.object
        var attributes: [String] = []
        for child in node.children where !attributes.contains(child.attribute) { attributes.append(child.attribute) }
        for attribute in attributes {
            // Items in the template's order (then in the order given), whatever the order of the keys.
            let alternatives = node.constraint?.attribute(attribute)?.children ?? []
            func rank(_ child: Node) -> Int {
                guard let constraint = child.constraint else { return alternatives.count }
                return alternatives.firstIndex {
                    $0.nodeID == constraint.nodeID && $0.archetypeID == constraint.archetypeID && $0.rmTypeName == constraint.rmTypeName
                } ?? alternatives.count
            }
            // Occurrences of one node in the order of their indexes, whatever the order of their keys (`order:1/…` before `order:0/…`).
            let items = node.children.filter { $0.attribute == attribute }.enumerated()
                .sorted { (rank($0.element.node), $0.element.index, $0.offset) < (rank($1.element.node), $1.element.index, $1.offset) }
                .map { json($0.element.node, examples: examples, language: language) }
            let isList = schema[node.type]?.attributes[attribute]?.isList ?? false
            object[attribute] = isList ? .array(items) : items.first
        }
        if schema[node.type]?.attributes["language"] != nil, object["language"] == nil {
            object["language"] = examples.codePhrase("ISO_639-1", [language])
        }
        if node.type == "ACTION" { completeTransition(&object, node) }
        if node.type == "ELEMENT", case .object(var value)? = object["value"], value["_type"] == "DV_ORDINAL" {
            completeOrdinal(&value, node)
            object["value"] = .object(value)
        }
        if node.type == "HISTORY", object["origin"] == nil, let origin = Self.earliestEventTime(object["events"]) {
            object["origin"] = ["_type": "DV_DATE_TIME", "value": .string(origin)]
        }
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

    /// A history's origin where the keys give none: its earliest event's
    /// time (RM EHR §HISTORY: the origin is the time its events' offsets are
    /// counted from; with the earliest, none is negative), so a composition
    /// of past data keeps its dates rather than the context's time or now.
    /// Nil when no event has a time (the context's time, as before).
    static func earliestEventTime(_ events: JSON?) -> String? {
        (events?.arrayValue ?? []).compactMap { event -> (ISODateTime, String)? in
            guard let text = event["time"]?["value"]?.stringValue, let time = ISODateTime(text) else { return nil }
            return (time, text)
        }.min { $0.0 < $1.0 }?.1
    }
}
