import FHIR
import JSONCore
import OpenEHR

/// FHIR values written as FLAT leaves of an openEHR data value
/// (FHIRconnect §Data mappings: Quantity⇄DV_QUANTITY,
/// CodeableConcept/Coding⇄DV_CODED_TEXT, dateTime/Period⇄DV_DATE_TIME,
/// Identifier⇄DV_IDENTIFIER, and the text and primitive types).
enum FlatValues {
    /// Writes `node` at `path` as a value of `rmType`; false when the two do not convert.
    /// `terminology` is the one the template allows for a code, used when the FHIR value names no system (a `code`).
    static func write(_ node: FHIRNode, as rmType: String, at path: String, terminology: String? = nil, into flat: inout JSONObject) -> Bool {
        let object = node.value?.objectValue
        switch rmType {
        case "DV_QUANTITY" where node.value?.objectValue == nil:
            // FHIRconnect §DV_QUANTITY, Primitives: a number with the units "1" (required).
            guard case .number? = node.value else { return false }
            flat[path + "|magnitude"] = node.value
            flat[path + "|unit"] = "1"
            return true
        case "DV_QUANTITY":
            guard let value = object?["value"], case .number = value else { return false }
            flat[path + "|magnitude"] = value
            if let unit = object?["code"] ?? object?["unit"] { flat[path + "|unit"] = unit }
            return true
        case "DV_PROPORTION":
            return writeProportion(node, at: path, into: &flat)
        case "DV_COUNT":
            guard let value = node.value.flatMap({ if case .number = $0 { $0 } else { nil } }) ?? object?["value"] else { return false }
            flat[path] = value
            return true
        case "DV_CODED_TEXT" where node.type == "Identifier":
            // openFHIR's form: the system as the terminology, the value as the code and text.
            guard let id = object?["value"]?.stringValue else { return false }
            flat[path + "|code"] = .string(id)
            flat[path + "|value"] = .string(id)
            if let system = object?["system"]?.stringValue { flat[path + "|terminology"] = .string(system) }
            return true
        case "DV_TEXT" where node.type == "Identifier":
            // FHIRconnect §String, Identifier: `system::value`.
            guard let id = object?["value"]?.stringValue else { return false }
            flat[path] = .string(object?["system"]?.stringValue.map { "\($0)::\(id)" } ?? id)
            return true
        case "DV_ORDINAL" where node.type == "Quantity", "DV_SCALE" where node.type == "Quantity":
            return writeScore(node, at: path, into: &flat)
        case "DV_CODED_TEXT", "DV_ORDINAL", "DV_SCALE":
            guard let coding = Self.coding(node) else { return false }
            if let code = coding.code { flat[path + "|code"] = .string(code) }
            if let system = coding.system ?? terminology { flat[path + "|terminology"] = .string(system) }
            // A coding without a display keeps its code as the text (DV_TEXT.value is required); a code
            // of the template's own terms reads as its term (FLAT gives it), not as the display sent.
            if (coding.system ?? terminology) != "local", let text = coding.display ?? coding.code { flat[path + "|value"] = .string(text) }
            if node.type == "CodeableConcept", rmType == "DV_CODED_TEXT" { writeTermMappings(node, at: path, into: &flat) }
            return coding.code != nil
        case "DV_TEXT":
            guard let text = Self.text(node) else { return false }
            flat[path] = .string(text)
            // FHIRconnect §DV_TEXT: a concept's codings (a Coding itself) are the text's term mappings, so none is lost.
            if node.type == "CodeableConcept" { writeTermMappings(node, at: path, into: &flat, skippingFirst: false) }
            if node.type == "Coding", let coding = node.value { writeTermMappings([coding], at: path, into: &flat) }
            return true
        case "DV_DATE_TIME", "DV_DATE", "DV_TIME":
            let text = node.type == "Period" ? object?["start"]?.stringValue : node.value?.stringValue
            guard let text else { return false }
            flat[path] = .string(text)
            return true
        case "DV_BOOLEAN":
            guard case .bool? = node.value else { return false }
            flat[path] = node.value
            return true
        case "DV_IDENTIFIER":
            return writeIdentifier(node, at: path, into: &flat)
        case "DV_URI", "DV_EHR_URI":
            guard let text = node.value?.stringValue else { return false }
            flat[path] = .string(text)
            return true
        default:
            return writeStructured(node, as: rmType, at: path, into: &flat)
        }
    }

    /// An Identifier as a DV_IDENTIFIER: value as id, system as issuer, its
    /// type's coding as `system::code` (else its text), the assigner by name
    /// (else by its identifier as `system::value`).
    static func writeIdentifier(_ node: FHIRNode, at path: String, into flat: inout JSONObject) -> Bool {
        let object = node.value?.objectValue
        guard let id = object?["value"]?.stringValue ?? node.value?.stringValue else { return false }
        flat[path + "|id"] = .string(id)
        if let system = object?["system"]?.stringValue { flat[path + "|issuer"] = .string(system) }
        // The type's coding as `system::code` (both kept), else its text.
        let typeCoding = object?["type"]?["coding"]?.arrayValue?.first
        if let code = typeCoding?["code"]?.stringValue {
            flat[path + "|type"] = .string(typeCoding?["system"]?.stringValue.map { "\($0)::\(code)" } ?? code)
        } else if let text = object?["type"]?["text"]?.stringValue {
            flat[path + "|type"] = .string(text)
        }
        // The assigner by its name, else by its identifier as `system::value`.
        let assigner = object?["assigner"]
        if let name = assigner?["display"]?.stringValue {
            flat[path + "|assigner"] = .string(name)
        } else if let value = assigner?["identifier"]?["value"]?.stringValue {
            flat[path + "|assigner"] = .string(assigner?["identifier"]?["system"]?.stringValue.map { "\($0)::\(value)" } ?? value)
        }
        return true
    }

    /// Durations, attachments and intervals (`StructuredValues`).
    static func writeStructured(_ node: FHIRNode, as rmType: String, at path: String, into flat: inout JSONObject) -> Bool {
        let object = node.value?.objectValue
        switch rmType {
        case "DV_DURATION":
            let text = node.type == "string" ? node.value?.stringValue.flatMap { ISO8601Text.isDuration($0) ? $0 : nil } : StructuredValues.isoDuration(object)
            guard let text else { return false }
            flat[path] = .string(text)
            return true
        case "DV_MULTIMEDIA":
            return node.type == "Attachment" && StructuredValues.writeMultimedia(object, at: path, into: &flat)
        case "DV_PARSABLE":
            guard node.type == "string" else { return node.type == "Attachment" && StructuredValues.writeParsable(object, at: path, into: &flat) }
            guard let text = node.value?.stringValue else { return false }
            flat[path] = .string(text)
            flat[path + "|formalism"] = "text/plain"
            return true
        case let interval where interval.hasPrefix("DV_INTERVAL<"):
            return ["Range", "Period"].contains(node.type) && StructuredValues.writeInterval(node, as: interval, at: path, into: &flat)
        case "PARTY_PROXY", "PARTY_IDENTIFIED":
            return node.type == "Reference" && StructuredValues.writeParty(object, at: path, into: &flat)
        default:
            return false
        }
    }

    /// A Quantity in `%` as a percent (numerator over 100, type 2), another
    /// unitless Quantity as a unitary proportion (over 1, type 1), a Ratio
    /// as a ratio (type 0): RM data types §DV_PROPORTION, `proportion_kind`.
    static func writeProportion(_ node: FHIRNode, at path: String, into flat: inout JSONObject) -> Bool {
        let object = node.value?.objectValue
        switch node.type {
        case "Quantity", "SimpleQuantity":
            guard let value = object?["value"], case .number = value else { return false }
            let unit = (object?["code"] ?? object?["unit"])?.stringValue
            guard unit == nil || unit == "%" || unit == "1" else { return false }
            flat[path + "|numerator"] = value
            flat[path + "|denominator"] = unit == "%" ? 100 : 1
            flat[path + "|type"] = unit == "%" ? 2 : 1
            return true
        case "Ratio":
            guard let numerator = object?["numerator"]?["value"], case .number = numerator,
                let denominator = object?["denominator"]?["value"], case .number = denominator
            else { return false }
            flat[path + "|numerator"] = numerator
            flat[path + "|denominator"] = denominator
            flat[path + "|type"] = 0
            return true
        default:
            return false
        }
    }

    /// The openEHR data value types a FHIR type converts to, best first.
    static func preferredTypes(_ fhirType: String) -> [String] {
        switch fhirType {
        case "Duration": ["DV_DURATION", "DV_QUANTITY"]
        case "Quantity", "Age", "Distance", "Count", "SimpleQuantity": ["DV_QUANTITY", "DV_COUNT", "DV_PROPORTION", "DV_ORDINAL", "DV_DURATION"]
        case "Ratio": ["DV_PROPORTION"]
        case "Range": ["DV_INTERVAL<DV_QUANTITY>", "DV_INTERVAL<DV_COUNT>"]
        case "Attachment": ["DV_MULTIMEDIA", "DV_PARSABLE"]
        case "CodeableConcept", "Coding", "code": ["DV_CODED_TEXT", "DV_ORDINAL", "DV_TEXT"]
        case "string", "markdown", "Annotation": ["DV_TEXT"]
        case "dateTime", "instant", "date": ["DV_DATE_TIME", "DV_DATE"]
        case "Period": ["DV_DATE_TIME", "DV_DATE", "DV_INTERVAL<DV_DATE_TIME>"]
        case "time": ["DV_TIME"]
        case "boolean": ["DV_BOOLEAN"]
        case "integer", "positiveInt", "unsignedInt": ["DV_COUNT", "DV_QUANTITY"]
        case "Identifier": ["DV_IDENTIFIER", "DV_CODED_TEXT", "DV_TEXT"]
        case "uri", "url", "canonical": ["DV_URI", "DV_TEXT"]
        case "Reference": ["PARTY_IDENTIFIED", "PARTY_PROXY"]
        default: []
        }
    }

    struct Coding {
        var code: String?
        var system: String?
        var display: String?
    }

    /// A CodeableConcept's first coding (its text when the coding has no
    /// display), a Coding, or a bare code.
    static func coding(_ node: FHIRNode) -> Coding? {
        switch node.type {
        case "CodeableConcept":
            let first = node.value?["coding"]?.arrayValue?.first
            let text = node.value?["text"]?.stringValue
            guard let first else { return text.map { Coding(display: $0) } }
            return Coding(code: first["code"]?.stringValue, system: Self.system(first), display: first["display"]?.stringValue ?? text)
        case "Coding":
            return Coding(code: node.value?["code"]?.stringValue, system: node.value.flatMap(Self.system), display: node.value?["display"]?.stringValue)
        case "code", "string":
            return node.value?.stringValue.map { Coding(code: $0) }
        default:
            return nil
        }
    }

    /// The text of a string-like value, a concept (its text, else its first display), a coding or an annotation.
    static func text(_ node: FHIRNode) -> String? {
        switch node.type {
        case "CodeableConcept":
            return node.value?["text"]?.stringValue ?? coding(node)?.display ?? coding(node)?.code
        case "Coding":
            return node.value?["display"]?.stringValue ?? node.value?["code"]?.stringValue
        case "Annotation":
            return node.value?["text"]?.stringValue
        default:
            return node.value?.stringValue
        }
    }

    /// The terminology id of a coding: its system url as written, with the
    /// code system version after it in brackets (`http://fhir.de/CodeSystem/bfarm/ops (2020)`),
    /// so that the way back to FHIR finds both again.
    static func system(_ coding: JSON) -> String? {
        guard let system = coding["system"]?.stringValue else { return nil }
        return coding["version"]?.stringValue.map { "\(system) (\($0))" } ?? system
    }

    /// The way back of `system(_:)`: `http://snomed.info/sct (20230731)` →
    /// the system and the version.
    static func systemAndVersion(_ terminology: String) -> (String, String?) {
        guard terminology.hasSuffix(")"), let open = terminology.lastIndex(of: "("), open > terminology.startIndex else { return (terminology, nil) }
        var system = terminology[..<open]
        while system.last == " " { system = system.dropLast() }
        return (String(system), String(terminology[terminology.index(after: open)..<terminology.index(before: terminology.endIndex)]))
    }

    /// The FLAT suffix a manual mapping's openEHR path names below a data
    /// value (§Manual mappings: `defining_code/code_string`, `terminology_id`…);
    /// nil for a path that is not an attribute of one.
    static func suffix(_ path: String, rmType: String) -> String? {
        switch path {
        case "", "$openehrRoot", "$openEHRRoot":
            return ""
        case "value":
            return rmType == "DV_CODED_TEXT" ? "|value" : ""
        case "defining_code", "code_string", "defining_code/code_string":
            return "|code"
        case "terminology_id", "terminology_id/value", "defining_code/terminology_id/value", "defining_code/terminology_id":
            return "|terminology"
        case "magnitude": return "|magnitude"
        case "units", "unit": return "|unit"
        case "id": return "|id"
        case "issuer": return "|issuer"
        case "type": return "|type"
        default: return nil
        }
    }

    /// A concept's other codings say the same in other code systems: term
    /// mappings of unknown match, each display its target's `preferred_term`
    /// (RM 1.1.0 CODE_PHRASE: the term the code system gives it, as openFHIR writes it).
    static func writeTermMappings(_ node: FHIRNode, at path: String, into flat: inout JSONObject, skippingFirst: Bool = true) {
        writeTermMappings(Array((node.value?["coding"]?.arrayValue ?? []).dropFirst(skippingFirst ? 1 : 0)), at: path, into: &flat)
    }

    /// Codings as the term mappings of the text at `path`, in order.
    static func writeTermMappings(_ codings: [JSON], at path: String, into flat: inout JSONObject) {
        for (index, other) in codings.enumerated() {
            guard let code = other["code"]?.stringValue, let system = Self.system(other) else { continue }
            flat[path + "/_mapping:\(index)|match"] = "?"
            flat[path + "/_mapping:\(index)/target|code"] = .string(code)
            flat[path + "/_mapping:\(index)/target|terminology"] = .string(system)
            if let display = other["display"]?.stringValue { flat[path + "/_mapping:\(index)/target|preferred_term"] = .string(display) }
        }
    }

    /// openFHIR's score as a Quantity (NEWS2): the value as the ordinal; the
    /// code, when it is one of the template's (`at0064`), as the symbol's with
    /// the unit as its text; else the template gives the symbol of the value
    /// (a UCUM `{ScoreOf}` names no symbol).
    static func writeScore(_ node: FHIRNode, at path: String, into flat: inout JSONObject) -> Bool {
        let object = node.value?.objectValue
        guard let value = object?["value"], case .number = value else { return false }
        flat[path + "|ordinal"] = value
        if let code = object?["code"]?.stringValue, code.hasPrefix("at") {
            flat[path + "|code"] = .string(code)
            if let unit = object?["unit"]?.stringValue { flat[path + "|value"] = .string(unit) }
        }
        return true
    }

    /// The RM types of an event node.
    static let eventTypes: Set<String> = ["EVENT", "POINT_EVENT", "INTERVAL_EVENT"]
    /// The FHIR types that are an event's time (FHIRconnect §EVENT).
    static let timeTypes: Set<String> = ["dateTime", "instant", "date", "time", "Period"]

    /// A FHIR time as the event of a history (FHIRconnect §EVENT): a
    /// dateTime, instant, date or time is a POINT_EVENT at it; a Period with
    /// both ends an INTERVAL_EVENT whose time is its end (RM data structures
    /// §INTERVAL_EVENT: the interval starts at time − width) and width its
    /// length, math function `actual` (openehr 640: the values are as they
    /// were over the interval); a Period with one end a POINT_EVENT at it.
    static func writeEvent(_ node: FHIRNode, at path: String, interval: Bool = true, into flat: inout JSONObject) -> Bool {
        guard node.type == "Period" else {
            guard let text = node.value?.stringValue else { return false }
            flat[path + "/time"] = .string(text)
            return true
        }
        let start = node.value?["start"]?.stringValue, end = node.value?["end"]?.stringValue
        guard let time = end ?? start else { return false }
        flat[path + "/time"] = .string(time)
        if interval, let start, let end, let from = ISODateTime(start), let to = ISODateTime(end), to >= from {
            flat[path + "/width"] = .string(ISO8601Text.duration(microseconds: to.microsecondsSinceEpoch - from.microsecondsSinceEpoch))
            flat[path + "/math_function|code"] = "640"
            flat[path + "/math_function|value"] = "actual"
            flat[path + "/math_function|terminology"] = "openehr"
        }
        return true
    }
}
