import JSONCore
import OpenEHR

extension ExampleComposition {
    /// Adds the attributes the RM makes mandatory that the template left
    /// open (COMPOSITION.language, ENTRY.subject, HISTORY.origin, …).
    func fillRequired(_ object: inout JSONObject, type: String, generic: String?, depth: Int) {
        guard let rmClass = schema[type] else { return }
        for name in rmClass.requiredInOrder where object[name] == nil {
            if let value = known(type, name, generic: generic, depth: depth)
                ?? rmClass.attributes[name].flatMap({ defaultValue($0, owner: type, depth: depth) })
            {
                object[name] = value
            }
        }
    }

    /// Values with a meaning, where the RM names the terminology group or
    /// the template its language.
    func known(_ type: String, _ name: String, generic: String?, depth: Int) -> JSON? {
        switch (type, name) {
        case (_, "language"): return codePhrase("ISO_639-1", [template.language.isEmpty ? "en" : template.language])
        case (_, "territory"): return codePhrase("ISO_3166-1", ["FR"])
        case (_, "encoding"): return codePhrase("IANA_character-sets", ["UTF-8"])
        case ("COMPOSITION", "category"): return codedText("433", terminologyID: "openehr", terms: [:])
        case ("COMPOSITION", "composer"): return ["_type": "PARTY_IDENTIFIED", "name": "Socle example"]
        case (_, "subject"): return ["_type": "PARTY_SELF"]
        case ("EVENT_CONTEXT", "setting"): return codedText("238", terminologyID: "openehr", terms: [:])
        case ("ISM_TRANSITION", "current_state"): return codedText("532", terminologyID: "openehr", terms: [:])
        // RM INTERVAL_EVENT.Math_function_validity: a code of the openEHR group; 146 is "mean".
        case ("INTERVAL_EVENT", "math_function"): return codedText("146", terminologyID: "openehr", terms: [:])
        case ("ACTIVITY", "action_archetype_id"): return "openEHR-EHR-ACTION\\..*\\.v1"
        case ("ACTIVITY", "timing"): return ["_type": "DV_PARSABLE", "value": "R1/P1D", "formalism": "timing"]
        case ("DV_INTERVAL", "lower"), ("DV_INTERVAL", "upper"):
            return generic.map { rmDefault($0, depth: depth + 1) } ?? rmDefault("DV_COUNT", depth: depth + 1)
        case ("DV_MULTIMEDIA", "media_type"): return codePhrase("IANA_media-types", ["text/plain"])
        case ("DV_PARSABLE", "formalism"): return "text/plain"
        case ("DV_INTERVAL", "lower_unbounded"), ("DV_INTERVAL", "upper_unbounded"): return false
        case ("DV_INTERVAL", "lower_included"), ("DV_INTERVAL", "upper_included"): return true
        case (_, "time"), (_, "origin"), (_, "start_time"): return ["_type": "DV_DATE_TIME", "value": .string(time)]
        // A data value the template names without constraining its value.
        case ("DV_DATE_TIME", "value"), ("DV_DATE", "value"), ("DV_TIME", "value"), ("DV_DURATION", "value"), ("DV_URI", "value"),
            ("DV_EHR_URI", "value"):
            return rmDefault(type, depth: depth + 1)?["value"]
        default: return nil
        }
    }

    /// A value for an RM attribute: of its first type that is not its
    /// owner's (CLUSTER.items is CLUSTER or ELEMENT: an ELEMENT ends the tree).
    func defaultValue(_ attribute: RMSchema.Attribute, owner: String, depth: Int) -> JSON? {
        if let primitive = attribute.primitive {
            switch primitive {
            case .string: return "example"
            case .integer: return 1
            case .number: return 1
            case .boolean: return false
            case .object: return nil
            }
        }
        guard let first = attribute.types.first(where: { concrete($0) != owner }) ?? attribute.types.first else { return nil }
        let value = rmDefault(first, depth: depth + 1)
        return attribute.isList ? value.map { .array([$0]) } : value
    }

    /// An RM object of a type with its mandatory attributes, for what the
    /// template does not constrain.
    func rmDefault(_ type: String, depth: Int) -> JSON? {
        guard depth < 64 else { return nil }
        let type = concrete(type)
        switch type {
        case "DV_TEXT": return ["_type": "DV_TEXT", "value": "example"]
        case "DV_CODED_TEXT": return ["_type": "DV_CODED_TEXT", "value": "example", "defining_code": codePhrase("local", ["at0000"])]
        case "DV_DATE_TIME": return ["_type": "DV_DATE_TIME", "value": .string(time)]
        case "DV_DATE": return ["_type": "DV_DATE", "value": .string(String(time.prefix(10)))]
        case "DV_TIME": return ["_type": "DV_TIME", "value": .string(String(time.dropFirst(11).prefix(8)))]
        case "DV_DURATION": return ["_type": "DV_DURATION", "value": "PT1H"]
        case "DV_QUANTITY": return ["_type": "DV_QUANTITY", "magnitude": 1, "units": "1"]
        case "DV_COUNT": return ["_type": "DV_COUNT", "magnitude": 1]
        case "DV_BOOLEAN": return ["_type": "DV_BOOLEAN", "value": true]
        case "DV_PROPORTION": return ["_type": "DV_PROPORTION", "numerator": 1, "denominator": 100, "type": 2]
        case "DV_IDENTIFIER": return ["_type": "DV_IDENTIFIER", "id": "example"]
        case "DV_URI": return ["_type": "DV_URI", "value": "https://example.org/socle"]
        case "DV_EHR_URI": return ["_type": "DV_EHR_URI", "value": "ehr://socle.example/compositions"]
        case "DV_PARSABLE": return ["_type": "DV_PARSABLE", "value": "example", "formalism": "text/plain"]
        case "DV_MULTIMEDIA":
            return ["_type": "DV_MULTIMEDIA", "media_type": codePhrase("IANA_media-types", ["text/plain"]), "size": 7, "uri": ["_type": "DV_URI", "value": "https://example.org/socle"]]
        case "CODE_PHRASE": return codePhrase("local", ["at0000"])
        case "PARTY_SELF": return ["_type": "PARTY_SELF"]
        case "PARTY_IDENTIFIED": return ["_type": "PARTY_IDENTIFIED", "name": "Socle example"]
        default: break
        }
        guard schema[type] != nil else { return nil }
        var object = JSONObject()
        object["_type"] = .string(type)
        fillRequired(&object, type: type, generic: nil, depth: depth)
        satisfyInvariants(&object, type: type)
        return .object(object)
    }

    /// Makes the object keep the RM invariants where the template leaves
    /// them to the data (RMInvariant): an ELEMENT without a value says why
    /// (null flavour 253, unknown), a DV_MULTIMEDIA refers to its data, a
    /// DV_PROPORTION's denominator is what its kind requires.
    func satisfyInvariants(_ object: inout JSONObject, type: String) {
        switch type {
        case "ELEMENT" where object["value"] == nil && object["null_flavour"] == nil:
            object["null_flavour"] = codedText("253", terminologyID: "openehr", terms: [:])
        case "DV_MULTIMEDIA" where object["data"] == nil && object["uri"] == nil:
            object["uri"] = ["_type": "DV_URI", "value": "https://example.org/socle"]
        case "DV_PROPORTION":
            guard case .number(let kind)? = object["type"] else { return }
            switch kind {
            case "1": object["denominator"] = .number("1")
            case "2": object["denominator"] = .number("100")
            case "3", "4":
                for side in ["numerator", "denominator"] {
                    guard case .number(let text)? = object[side], let value = Double(text) else { continue }
                    object[side] = .number(String(Int(max(1, value.rounded(.up)))))
                }
            default: break
            }
        default: break
        }
    }
}
