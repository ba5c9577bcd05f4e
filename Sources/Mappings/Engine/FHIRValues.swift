import Foundation
import JSONCore
import OpenEHR

/// An openEHR data value as the FLAT composition holds it: its RM type and
/// its leaves by suffix (`|code`, `|magnitude`, `""` for the value itself).
struct OpenEHRValue {
    let rmType: String
    let leaves: [String: JSON]
    /// A coded text's term mappings, each target's leaves.
    var mappings: [[String: JSON]] = []
    /// For an ELEMENT with a null flavour and no value: the data-absent reason that stands for the value.
    var absentReason: String?

    subscript(_ suffix: String) -> JSON? { leaves[suffix] }
    func text(_ suffix: String) -> String? { leaves[suffix]?.stringValue }
}

/// openEHR data values written as FHIR elements (FHIRconnect §Data
/// mappings, the way back of `FlatValues`): DV_QUANTITY → Quantity,
/// DV_CODED_TEXT → CodeableConcept/Coding/code (its term mappings as
/// further codings), DV_DATE_TIME → dateTime/Period, DV_IDENTIFIER →
/// Identifier, and the text and primitive types.
enum FHIRValues {
    /// The FHIR types an openEHR data value converts to, best first (the
    /// choice of a choice element: `value[x]` of a DV_QUANTITY is `valueQuantity`).
    static func preferredTypes(_ rmType: String) -> [String] {
        switch rmType {
        case "DV_QUANTITY": ["Quantity", "decimal", "integer"]
        case "DV_COUNT": ["integer", "Quantity", "decimal"]
        case "DV_CODED_TEXT": ["CodeableConcept", "Coding", "code", "string", "Identifier"]
        case "DV_ORDINAL", "DV_SCALE", "CODE_PHRASE": ["CodeableConcept", "Coding", "code", "string"]
        case "DV_TEXT": ["string", "markdown", "CodeableConcept", "Annotation", "Identifier"]
        case "DV_DATE_TIME": ["dateTime", "instant", "Period", "date"]
        case "DV_DATE": ["date", "dateTime", "Period"]
        case "DV_TIME": ["time"]
        case "DV_BOOLEAN": ["boolean"]
        case "DV_IDENTIFIER": ["Identifier", "string"]
        case "DV_URI", "DV_EHR_URI": ["uri", "url", "canonical", "string"]
        case "DV_DURATION": ["Duration", "Quantity", "string"]
        case "DV_MULTIMEDIA": ["Attachment"]
        case "PARTY_PROXY", "PARTY_IDENTIFIED": ["Reference"]
        case "DV_PARSABLE": ["Attachment", "string"]
        case "DV_INTERVAL<DV_DATE_TIME>", "DV_INTERVAL<DV_DATE>": ["Period"]
        case "DV_INTERVAL<DV_QUANTITY>", "DV_INTERVAL<DV_COUNT>": ["Range"]
        case "DV_PROPORTION": ["Ratio", "Quantity", "decimal"]
        case "INTERVAL_EVENT": ["Period", "dateTime", "instant"]
        default: []
        }
    }

    /// The FHIR types this value converts to, best first: a percent
    /// (DV_PROPORTION of type 2, RM data types §DV_PROPORTION) is a Quantity
    /// in `%` before a Ratio, as FHIR gives an oxygen saturation.
    static func preferredTypes(of value: OpenEHRValue) -> [String] {
        guard value.rmType == "DV_PROPORTION", isPercent(value) else { return preferredTypes(value.rmType) }
        return ["Quantity", "Ratio", "decimal"]
    }

    static func isPercent(_ value: OpenEHRValue) -> Bool {
        value["|type"].flatMap(Self.decimal) == 2
    }

    /// A number leaf (or its text) as an exact decimal.
    static func decimal(_ leaf: JSON) -> Decimal? {
        switch leaf {
        case .number(let text), .string(let text): Decimal(string: text)
        default: nil
        }
    }

    /// `value` as an element of FHIR type `type`; nil when the two do not convert.
    static func element(_ value: OpenEHRValue, as type: String) -> FHIRElement? {
        if let reason = value.absentReason {
            // A complex element holds the extension; a primitive's would be its `_` sibling, which FHIRElement does not write.
            return JSONMemberKind.isPrimitive(type) ? nil : StructuredValues.absentElement(type: type, reason: reason)
        }
        if JSONMemberKind.isPrimitive(type) {
            return primitive(value, as: type).map { FHIRElement(type: type, value: $0) }
        }
        let element = FHIRElement(type: type)
        switch (type, value.rmType) {
        case ("Quantity", "DV_QUANTITY"), ("SimpleQuantity", "DV_QUANTITY"), ("Age", "DV_QUANTITY"), ("Duration", "DV_QUANTITY"):
            guard let magnitude = value["|magnitude"] else { return nil }
            element.set("value", decimal: magnitude)
            if let unit = value.text("|unit") {
                element.set("unit", unit)
                element.set("system", "http://unitsofmeasure.org")
                element.set("code", unit)
            }
        case ("Quantity", "DV_ORDINAL"), ("Quantity", "DV_SCALE"):
            guard score(value, into: element) else { return nil }
        case ("Quantity", "DV_COUNT"):
            guard let count = value[""] else { return nil }
            element.set("value", decimal: count)
        case ("CodeableConcept", "DV_TEXT"):
            // FHIRconnect §DV_TEXT: the text's term mappings are the concept's codings.
            guard let text = value.text("") else { return nil }
            for mapping in value.mappings { if let coding = Self.coding(mapping) { element.add(coding, key: "coding", isArray: true) } }
            element.set("text", text)
        case ("Coding", "DV_TEXT"):
            // §DV_TEXT Coding: display ⇄ value, the code from the text's term mapping.
            guard var mapping = value.mappings.first else { return nil }
            if mapping["|preferred_term"] == nil, let text = value.text("") { mapping["|value"] = .string(text) }
            return Self.coding(mapping)
        case ("CodeableConcept", _):
            guard let coding = coding(value.leaves) else { return nil }
            element.add(coding, key: "coding", isArray: true)
            for mapping in value.mappings { if let other = Self.coding(mapping) { element.add(other, key: "coding", isArray: true) } }
            if let text = value.text("|value") { element.set("text", text) }
        case ("Coding", _):
            return coding(value.leaves)
        case ("Annotation", "DV_TEXT"):
            guard let text = value.text("") else { return nil }
            element.set("text", text, type: "markdown")
        case ("Period", "INTERVAL_EVENT"):
            guard interval(value, into: element) else { return nil }
        case ("Period", "DV_DATE_TIME"), ("Period", "DV_DATE"):
            guard let start = value.text("") else { return nil }
            element.set("start", start, type: "dateTime")
        case ("Identifier", _):
            guard identifier(from: value, into: element) else { return nil }
        case ("Quantity", "DV_PROPORTION"), ("Ratio", "DV_PROPORTION"):
            guard proportion(value, as: type, into: element) else { return nil }
        default:
            guard StructuredValues.element(value, as: type, into: element) else { return nil }
        }
        return element
    }

    /// An Identifier from a DV_IDENTIFIER; from a coded text as openFHIR
    /// writes one (the system as the terminology, the value as the code);
    /// from a text `system::value` (FHIRconnect §String, Identifier).
    static func identifier(from value: OpenEHRValue, into element: FHIRElement) -> Bool {
        switch value.rmType {
        case "DV_IDENTIFIER":
            identifier(value, into: element)
        case "DV_CODED_TEXT":
            guard let code = value.text("|code") else { return false }
            if let terminology = value.text("|terminology") { element.set("system", terminology, type: "uri") }
            element.set("value", code)
        case "DV_TEXT":
            guard let text = value.text("") else { return false }
            if let range = text.range(of: "::") {
                element.set("system", String(text[..<range.lowerBound]), type: "uri")
                element.set("value", String(text[range.upperBound...]))
            } else {
                element.set("value", text)
            }
        default:
            return false
        }
        return true
    }

    /// A proportion as a Quantity (a percent its numerator in `%`, another its
    /// quotient, a unitless number: UCUM `1`) or as a Ratio.
    static func proportion(_ value: OpenEHRValue, as type: String, into element: FHIRElement) -> Bool {
        if type == "Ratio" {
            guard let numerator = value["|numerator"], let denominator = value["|denominator"] else { return false }
            let top = FHIRElement(type: "Quantity"), bottom = FHIRElement(type: "Quantity")
            top.set("value", decimal: numerator)
            bottom.set("value", decimal: denominator)
            element.add(top, key: "numerator", isArray: false)
            element.add(bottom, key: "denominator", isArray: false)
            return true
        }
        guard let numerator = value["|numerator"].flatMap(Self.decimal), let denominator = value["|denominator"].flatMap(Self.decimal), !denominator.isZero
        else { return false }
        let percent = isPercent(value) && denominator == 100
        element.set("value", decimal: .number((percent || denominator == 1 ? numerator : numerator / denominator).description))
        element.set("unit", percent ? "%" : "1")
        element.set("system", "http://unitsofmeasure.org")
        element.set("code", percent ? "%" : "1")
        return true
    }

    /// A score as openFHIR writes it (NEWS2 `value.as(Quantity)`): its value,
    /// the symbol's code as code and its text as unit.
    static func score(_ value: OpenEHRValue, into element: FHIRElement) -> Bool {
        guard let ordinal = value["|ordinal"] else { return false }
        element.set("value", decimal: ordinal)
        if let code = value.text("|code") { element.set("code", code) }
        if let symbol = value.text("|value") { element.set("unit", symbol) }
        return true
    }

    /// An interval event as a Period (RM data structures §INTERVAL_EVENT:
    /// the interval ends at its time and starts width before).
    static func interval(_ value: OpenEHRValue, into element: FHIRElement) -> Bool {
        guard let end = value.text(""), let time = ISODateTime(end), let width = value.text("|width"),
            let seconds = ISO8601Text.seconds(ofDuration: width, nominal: false)
        else { return false }
        let start = ISODateTime(microsecondsSinceEpoch: time.microsecondsSinceEpoch - Int64((seconds * 1_000_000).rounded()))
        element.set("start", start.text(offsetMinutes: ISODateTime.offsetMinutes(of: end) ?? 0), type: "dateTime")
        element.set("end", end, type: "dateTime")
        return true
    }

    /// A primitive of FHIR type `type` from a data value: a code's code or text, a quantity's magnitude…
    static func primitive(_ value: OpenEHRValue, as type: String) -> JSON? {
        switch (value.rmType, type) {
        case ("DV_CODED_TEXT", "code"), ("DV_ORDINAL", "code"), ("DV_SCALE", "code"), ("CODE_PHRASE", "code"):
            return value["|code"]
        case ("DV_CODED_TEXT", _), ("DV_ORDINAL", _), ("DV_SCALE", _):
            return value["|value"] ?? value["|code"]
        case ("DV_QUANTITY", "decimal"), ("DV_QUANTITY", "integer"):
            return value["|magnitude"]
        case ("DV_IDENTIFIER", _):
            return value["|id"]
        case ("DV_BOOLEAN", "boolean"), ("DV_COUNT", "integer"), ("DV_COUNT", "decimal"), ("DV_COUNT", "positiveInt"), ("DV_COUNT", "unsignedInt"):
            return value[""]
        case ("DV_BOOLEAN", _), ("DV_COUNT", _), ("DV_QUANTITY", _):
            return nil
        default:
            // Texts, date-times, URIs: the value as written.
            guard let text = value.text("") else { return nil }
            switch type {
            case "boolean": return text == "true" ? .bool(true) : text == "false" ? .bool(false) : nil
            case "decimal", "integer", "positiveInt", "unsignedInt": return Double(text) != nil ? .number(text) : nil
            default: return .string(text)
            }
        }
    }

    /// A coded value's coding: the terminology (`url (version)` split back
    /// into system and version, as `FlatValues.system` wrote it), the code,
    /// the text as display.
    static func coding(_ leaves: [String: JSON]) -> FHIRElement? {
        guard let code = leaves["|code"]?.stringValue else { return nil }
        let coding = FHIRElement(type: "Coding")
        if let terminology = leaves["|terminology"]?.stringValue {
            let (system, version) = FlatValues.systemAndVersion(terminology)
            coding.set("system", system, type: "uri")
            if let version { coding.set("version", version) }
        }
        coding.set("code", code, type: "code")
        if let display = (leaves["|value"] ?? leaves["|preferred_term"])?.stringValue { coding.set("display", display) }
        return coding
    }

    /// DV_IDENTIFIER → Identifier: id, issuer as system, type `system::code` as a coding, assigner as display or identifier.
    static func identifier(_ value: OpenEHRValue, into element: FHIRElement) {
        if let system = value.text("|issuer") { element.set("system", system, type: "uri") }
        if let id = value.text("|id") { element.set("value", id) }
        if let type = value.text("|type") {
            let concept = FHIRElement(type: "CodeableConcept")
            if let range = type.range(of: "::") {
                let coding = FHIRElement(type: "Coding")
                coding.set("system", String(type[..<range.lowerBound]), type: "uri")
                coding.set("code", String(type[range.upperBound...]), type: "code")
                concept.add(coding, key: "coding", isArray: true)
            } else {
                concept.set("text", type)
            }
            element.add(concept, key: "type", isArray: false)
        }
        if let assigner = value.text("|assigner") {
            let reference = FHIRElement(type: "Reference")
            reference.set("display", assigner)
            element.add(reference, key: "assigner", isArray: false)
        }
    }
}

extension FHIRElement {
    func set(_ key: String, _ text: String, type: String = "string") {
        add(FHIRElement(type: type, value: .string(text)), key: key, isArray: false)
    }

    /// A decimal from a FLAT number (or a number written as text).
    func set(_ key: String, decimal: JSON) {
        let number: JSON
        if case .string(let text) = decimal, Double(text) != nil { number = .number(text) } else { number = decimal }
        add(FHIRElement(type: "decimal", value: number), key: key, isArray: false)
    }
}
