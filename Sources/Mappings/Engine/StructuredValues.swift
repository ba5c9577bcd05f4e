import FHIR
import Foundation
import JSONCore
import OpenEHR

/// The FHIRconnect data mappings beyond texts, codes and quantities, both
/// ways: DV_DURATION ⇄ Duration (UCUM units as ISO 8601 designators),
/// DV_MULTIMEDIA ⇄ Attachment, DV_PARSABLE ⇄ Attachment, DV_INTERVAL ⇄
/// Range or Period, and an ELEMENT's null flavour ⇄ the data-absent-reason
/// extension (FHIRconnect §DV_DURATION, §DV_MULTIMEDIA, §DV_PARSABLE,
/// §DV_INTERVAL, §NULL_FLAVOUR).
enum StructuredValues {
    /// The UCUM duration units (FHIR CommonUCUMCodesForDuration) as ISO 8601
    /// designators, and whether they belong after the `T`.
    static let durationUnits: [String: (designator: Character, time: Bool)] = [
        "a": ("Y", false), "mo": ("M", false), "wk": ("W", false), "d": ("D", false), "h": ("H", true), "min": ("M", true), "s": ("S", true),
    ]

    /// A Duration (or a Quantity in a UCUM time unit) as an ISO 8601
    /// duration: `90 min` → `PT90M`, `2 wk` → `P2W`, `1500 ms` → `PT1.5S`.
    static func isoDuration(_ object: JSONObject?) -> String? {
        guard case .number(let value)? = object?["value"], let unit = (object?["code"] ?? object?["unit"])?.stringValue else { return nil }
        if unit == "ms", let milliseconds = Decimal(string: value) {
            return "PT\(NSDecimalNumber(decimal: milliseconds / 1000).stringValue)S"
        }
        guard let (designator, time) = durationUnits[unit], !value.hasPrefix("-") else { return nil }
        return (time ? "PT" : "P") + value + String(designator)
    }

    /// An ISO 8601 duration as a value and UCUM unit: one designator as it
    /// is (`P3D` → 3 d, `P1Y` → 1 a); several without years or months in the
    /// largest unit that holds them exactly (`PT1H30M` → 90 min); nil for a
    /// mix with years or months, whose length varies.
    static func ucumDuration(_ text: String) -> (value: Decimal, unit: String)? {
        let body = text.hasPrefix("P") ? text.dropFirst() : ""
        let time = body.hasPrefix("T")
        let digits = time ? body.dropFirst() : body
        if let designator = digits.last, let value = Decimal(string: String(digits.dropLast())), digits.dropLast().allSatisfy({ $0.isNumber || $0 == "." }),
            let unit = durationUnits.first(where: { $0.value.designator == designator && $0.value.time == time })?.key
        {
            return (value, unit)
        }
        guard let seconds = ISO8601Text.seconds(ofDuration: text, nominal: false) else { return nil }
        for (unit, length) in [("d", 86_400.0), ("h", 3600.0), ("min", 60.0)] where seconds.truncatingRemainder(dividingBy: length) == 0 {
            return (Decimal(seconds / length), unit)
        }
        return (Decimal(seconds), "s")
    }

    /// An Attachment as a DV_MULTIMEDIA: its content type as the media
    /// type (required), its url as the uri, its data and size (the data's
    /// length where the Attachment gives none: DV_MULTIMEDIA.size is required).
    static func writeMultimedia(_ object: JSONObject?, at path: String, into flat: inout JSONObject) -> Bool {
        guard let object, let type = object["contentType"]?.stringValue else { return false }
        let data = object["data"]?.stringValue
        guard object["url"] != nil || data != nil else { return false }
        flat[path + "|mediatype"] = .string(type)
        if let url = object["url"]?.stringValue { flat[path] = .string(url) }
        if let data { flat[path + "|data"] = .string(data) }
        if let size = object["size"] {
            flat[path + "|size"] = size
        } else if let data, let bytes = Data(base64Encoded: data) {
            flat[path + "|size"] = JSON(bytes.count)
        }
        return true
    }

    /// An Attachment as a DV_PARSABLE: its data (base64 text) as the value,
    /// its content type as the formalism.
    static func writeParsable(_ object: JSONObject?, at path: String, into flat: inout JSONObject) -> Bool {
        guard let data = object?["data"]?.stringValue, let bytes = Data(base64Encoded: data), let text = String(data: bytes, encoding: .utf8) else { return false }
        flat[path] = .string(text)
        flat[path + "|formalism"] = .string(object?["contentType"]?.stringValue ?? "text/plain")
        return true
    }

    /// A Range as a DV_INTERVAL of quantities or counts, a Period as one of
    /// date-times: each limit given is included, a limit not given is unbounded.
    static func writeInterval(_ node: FHIRNode, as rmType: String, at path: String, into flat: inout JSONObject) -> Bool {
        let object = node.value?.objectValue
        let limits: [(name: String, value: JSON?)] = node.type == "Period"
            ? [("lower", object?["start"]), ("upper", object?["end"])] : [("lower", object?["low"]), ("upper", object?["high"])]
        guard limits.contains(where: { $0.value != nil }) else { return false }
        for (name, value) in limits {
            flat[path + "|\(name)_unbounded"] = .bool(value == nil)
            guard let value else { continue }
            flat[path + "|\(name)_included"] = true
            switch rmType {
            case "DV_INTERVAL<DV_QUANTITY>":
                guard case .number? = value["value"] else { return false }
                flat[path + "/\(name)|magnitude"] = value["value"]
                if let unit = value["code"] ?? value["unit"] { flat[path + "/\(name)|unit"] = unit }
            case "DV_INTERVAL<DV_COUNT>":
                guard case .number? = value["value"] else { return false }
                flat[path + "/\(name)"] = value["value"]
            case "DV_INTERVAL<DV_DATE_TIME>", "DV_INTERVAL<DV_DATE>":
                guard case .string = value else { return false }
                flat[path + "/\(name)"] = value
            default:
                return false
            }
        }
        return true
    }

    /// A Reference as a PARTY_IDENTIFIED (FHIRconnect §PARTY_IDENTIFIED):
    /// its display as the name, its identifier as the party's identifier
    /// (a DV_IDENTIFIER: the value as id, the system as issuer).
    static func writeParty(_ object: JSONObject?, at path: String, into flat: inout JSONObject) -> Bool {
        let name = object?["display"]?.stringValue
        let identifier = object?["identifier"]?["value"]?.stringValue
        guard name != nil || identifier != nil else { return false }
        if let name { flat[path + "|name"] = .string(name) }
        if let identifier {
            flat[path + "/_identifier:0|id"] = .string(identifier)
            if let system = object?["identifier"]?["system"]?.stringValue { flat[path + "/_identifier:0|issuer"] = .string(system) }
        }
        return true
    }

    static let dataAbsentReason = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

    /// The data-absent-reason code a FHIR element carries in place of its value.
    static func absentReason(_ node: FHIRNode) -> String? {
        node.value?["extension"]?.arrayValue?.first { $0["url"]?.stringValue == dataAbsentReason }?["valueCode"]?.stringValue
    }

    /// A data-absent reason as the ELEMENT's null flavour (openEHR
    /// terminology: 272 masked, 273 not applicable, else 253 unknown) with
    /// the FHIR code as its null reason, so that it reads back as sent.
    static func writeNullFlavour(_ reason: String, element path: String, into flat: inout JSONObject) {
        let (code, rubric) = reason == "masked" ? ("272", "masked") : reason == "not-applicable" ? ("273", "not applicable") : ("253", "unknown")
        flat[path + "/_null_flavour|code"] = .string(code)
        flat[path + "/_null_flavour|value"] = .string(rubric)
        flat[path + "/_null_flavour|terminology"] = "openehr"
        if !["masked", "not-applicable", "unknown"].contains(reason) { flat[path + "/_null_reason"] = .string(reason) }
    }

    /// The data-absent-reason codes (R4 ValueSet data-absent-reason).
    static let absentReasons: Set<String> = [
        "unknown", "asked-unknown", "temp-unknown", "not-asked", "asked-declined", "masked", "not-applicable", "unsupported", "as-text", "error",
        "not-a-number", "negative-infinity", "positive-infinity", "not-performed", "not-permitted",
    ]

    /// An ELEMENT's null flavour as a data-absent-reason code: its null
    /// reason when that is one of the codes, else by the flavour (272
    /// masked, 273 not applicable, 253 unknown and 271 no information: unknown).
    static func absentReason(nullFlavour code: String, reason: String?) -> String {
        if let reason, absentReasons.contains(reason) { return reason }
        return code == "272" ? "masked" : code == "273" ? "not-applicable" : "unknown"
    }

    /// The extension that stands for an absent value.
    static func absentElement(type: String, reason: String) -> FHIRElement {
        let element = FHIRElement(type: type)
        let extensionElement = FHIRElement(type: "Extension")
        extensionElement.set("url", dataAbsentReason, type: "uri")
        extensionElement.set("valueCode", reason, type: "code")
        element.add(extensionElement, key: "extension", isArray: true)
        return element
    }
}

extension StructuredValues {
    static let ucum = "http://unitsofmeasure.org"

    /// The way back: a duration as a Duration or Quantity in its UCUM unit,
    /// a multimedia or parsable value as an Attachment, an interval as a
    /// Range or Period. False when the two do not convert.
    static func element(_ value: OpenEHRValue, as type: String, into element: FHIRElement) -> Bool {
        switch (type, value.rmType) {
        case ("Duration", "DV_DURATION"), ("Quantity", "DV_DURATION"):
            guard let text = value.text(""), let (amount, unit) = ucumDuration(text) else { return false }
            element.set("value", decimal: .number("\(amount)"))
            element.set("unit", unit)
            element.set("system", ucum, type: "uri")
            element.set("code", unit, type: "code")
        case ("Attachment", "DV_MULTIMEDIA"):
            guard let mediaType = value.text("|mediatype") else { return false }
            element.set("contentType", mediaType, type: "code")
            if let url = value.text("") { element.set("url", url, type: "url") }
            if let data = value.text("|data") { element.set("data", data, type: "base64Binary") }
            if let size = value["|size"] { element.set("size", decimal: size) }
        case ("Attachment", "DV_PARSABLE"):
            guard let text = value.text("") else { return false }
            element.set("contentType", value.text("|formalism") ?? "text/plain", type: "code")
            element.set("data", Data(text.utf8).base64EncodedString(), type: "base64Binary")
        case ("Range", _) where value.rmType.hasPrefix("DV_INTERVAL<"):
            return limits(value, into: element) { limit, quantity in
                guard let magnitude = value[limit + "|magnitude"] ?? value[limit] else { return false }
                quantity.set("value", decimal: magnitude)
                if let unit = value.text(limit + "|unit") {
                    quantity.set("unit", unit)
                    quantity.set("system", ucum, type: "uri")
                    quantity.set("code", unit, type: "code")
                }
                return true
            }
        case ("Reference", _) where value.rmType.hasPrefix("PARTY_"):
            // §PARTY_IDENTIFIED: the name as display, the first identifier as the Reference's.
            guard value.text("|name") != nil || value.text("identifier|id") != nil else { return false }
            if let id = value.text("identifier|id") {
                let identifier = FHIRElement(type: "Identifier")
                if let issuer = value.text("identifier|issuer") { identifier.set("system", issuer, type: "uri") }
                identifier.set("value", id)
                element.add(identifier, key: "identifier", isArray: false)
            }
            if let name = value.text("|name") { element.set("display", name) }
        case ("Period", _) where value.rmType.hasPrefix("DV_INTERVAL<"):
            var any = false
            for (limit, key) in [("lower", "start"), ("upper", "end")] {
                guard let time = value.text(limit) else { continue }
                element.set(key, time, type: "dateTime")
                any = true
            }
            return any
        default:
            return false
        }
        return true
    }

    /// A Range's `low` and `high` from the interval's limits, each filled by `fill`; false when neither is.
    static func limits(_ value: OpenEHRValue, into element: FHIRElement, fill: (String, FHIRElement) -> Bool) -> Bool {
        var any = false
        for (limit, key) in [("lower", "low"), ("upper", "high")] {
            let quantity = FHIRElement(type: "Quantity")
            guard fill(limit, quantity) else { continue }
            element.add(quantity, key: key, isArray: false)
            any = true
        }
        return any
    }
}
