import Foundation
import JSONCore

extension SearchIndexer {
    /// The index values of one selected element for a parameter type (R4
    /// §Search, the table of data types each parameter type indexes).
    static func values(of item: FHIRPathValue, as type: SearchParameterDefinition.ParameterType, in root: FHIRNode) -> [SearchValue] {
        guard case .node(let node) = item else { return systemValues(item, as: type) }
        let json = node.value
        switch type {
        case .string:
            switch node.type {
            case "HumanName":
                return texts(json, ["text", "family", "given", "prefix", "suffix"]).map(string)
            case "Address":
                return texts(json, ["text", "line", "city", "district", "state", "postalCode", "country"]).map(string)
            default:
                return json?.stringValue.map { [string($0)] } ?? []
            }
        case .token: return tokens(node)
        case .reference: return references(node, in: root)
        case .date: return dates(node)
        case .number:
            guard case .number(let text)? = json, let decimal = FHIRPathDecimal(jsonNumber: text) else { return [] }
            return [number(decimal)]
        case .quantity: return quantities(node)
        case .uri: return json?.stringValue.map { [.uri($0)] } ?? []
        case .special:
            // `near` (Location.position): the latitude and longitude.
            guard node.type == "Location.position", case .number(let latitude)? = json?["latitude"], case .number(let longitude)? = json?["longitude"],
                let lat = Double(latitude), let lon = Double(longitude)
            else { return [] }
            return [.position(latitude: lat, longitude: lon)]
        case .composite: return []
        }
    }

    static func systemValues(_ item: FHIRPathValue, as type: SearchParameterDefinition.ParameterType) -> [SearchValue] {
        switch (type, item) {
        case (.string, .string(let s)): return [string(s)]
        case (.token, _): return item.text.map { [.token(system: nil, code: $0, text: nil)] } ?? []
        case (.uri, .string(let s)): return [.uri(s)]
        case (.number, .integer(let i)): return [number(FHIRPathDecimal(Decimal(i), scale: 0))]
        case (.number, .decimal(let d)): return [number(d)]
        case (.date, .temporal(let t)): return [range(t)]
        default: return []
        }
    }

    static func texts(_ json: JSON?, _ keys: [String]) -> [String] {
        keys.flatMap { key -> [String] in
            switch json?[key] {
            case .string(let s)?: [s]
            case .array(let items)?: items.compactMap(\.stringValue)
            default: []
            }
        }
    }

    /// R4 §string: matches ignore case and accents.
    static func string(_ text: String) -> SearchValue {
        .string(normalized: normalise(text), exact: text)
    }

    public static func normalise(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: Locale(identifier: "en_US_POSIX"))
    }

    static func tokens(_ node: FHIRNode) -> [SearchValue] {
        let json = node.value
        switch node.type {
        case "Coding":
            return [.token(system: json?["system"]?.stringValue, code: json?["code"]?.stringValue, text: json?["display"]?.stringValue)]
        case "CodeableConcept":
            let text = json?["text"]?.stringValue
            let codings = json?["coding"]?.arrayValue ?? []
            if codings.isEmpty { return text.map { [.token(system: nil, code: nil, text: $0)] } ?? [] }
            return codings.map {
                .token(system: $0["system"]?.stringValue, code: $0["code"]?.stringValue, text: $0["display"]?.stringValue ?? text)
            }
        case "Identifier":
            return [.token(system: json?["system"]?.stringValue, code: json?["value"]?.stringValue, text: json?["type"]?["text"]?.stringValue)]
        case "ContactPoint":
            return [.token(system: json?["system"]?.stringValue, code: json?["value"]?.stringValue, text: nil)]
        case "boolean":
            guard case .bool(let b)? = json else { return [] }
            return [.token(system: nil, code: b ? "true" : "false", text: nil)]
        default:
            guard let code = json?.stringValue else { return [] }
            return [.token(system: boundSystem(code, node.element), code: code, text: nil)]
        }
    }

    /// The code system of a code bound to a value set Socle carries
    /// (Patient.gender → http://hl7.org/fhir/administrative-gender).
    static func boundSystem(_ code: String, _ element: ElementDefinition?) -> String? {
        guard let element, !element.valueSet.isEmpty,
            let codes = FHIRSchema.r4.valueSets[element.valueSetURL]
        else { return nil }
        let suffix = "|" + code
        guard let match = codes.first(where: { $0.hasSuffix(suffix) }) else { return nil }
        return String(match.dropLast(suffix.count))
    }

    static func references(_ node: FHIRNode, in root: FHIRNode) -> [SearchValue] {
        if node.type == "Reference" {
            guard let reference = node.value?["reference"]?.stringValue else { return [] }
            return [parseReference(reference, in: root)]
        }
        if FHIRSchema.r4.isResourceType(node.type) {
            return [.reference(type: node.type, id: node.value?["id"]?.stringValue, url: nil, version: nil)]
        }
        guard let text = node.value?.stringValue else { return [] }
        if node.type == "canonical" {
            let parts = text.split(separator: "|", maxSplits: 1).map(String.init)
            return [.reference(type: nil, id: nil, url: parts[0], version: parts.count > 1 ? parts[1] : nil)]
        }
        return [parseReference(text, in: root)]
    }

    /// `Patient/1`, `Patient/1/_history/2`, `http://host/fhir/Patient/1`,
    /// `#contained`, `urn:uuid:…` (R4 §Resource references).
    static func parseReference(_ reference: String, in root: FHIRNode) -> SearchValue {
        if reference.hasPrefix("#") {
            let id = String(reference.dropFirst())
            let contained = root.children(named: "contained")?.first { $0.value?["id"]?.stringValue == id }
            return .reference(type: contained?.type, id: id, url: reference, version: nil)
        }
        var parts = reference.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        var version: String?
        if parts.count >= 4, parts[parts.count - 2] == "_history" {
            version = parts.last
            parts.removeLast(2)
        }
        if parts.count >= 2, FHIRSchema.r4.isResourceType(parts[parts.count - 2]) {
            // More than `Type/id` (a `scheme://host/…` always is) is an absolute reference.
            let absolute = parts.count > 2
            return .reference(type: parts[parts.count - 2], id: parts[parts.count - 1], url: absolute ? reference : nil, version: version)
        }
        return .reference(type: nil, id: nil, url: reference, version: nil)
    }

    static func dates(_ node: FHIRNode) -> [SearchValue] {
        switch node.type {
        case "date", "dateTime", "instant":
            guard let text = node.value?.stringValue,
                let value = FHIRPathTemporal(text, kind: node.type == "date" ? .date : .dateTime)
            else { return [] }
            return [range(value)]
        case "Period":
            let start = node.value?["start"]?.stringValue.flatMap { FHIRPathTemporal($0, kind: .dateTime) }
            let end = node.value?["end"]?.stringValue.flatMap { FHIRPathTemporal($0, kind: .dateTime) }
            if start == nil && end == nil { return [] }
            return [.date(low: start.map { microseconds($0, low: true) }, high: end.map { microseconds($0, low: false) })]
        case "Timing":
            let events = (node.value?["event"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { FHIRPathTemporal($0, kind: .dateTime) } }
            if !events.isEmpty {
                return [.date(low: events.map { microseconds($0, low: true) }.min(), high: events.map { microseconds($0, low: false) }.max())]
            }
            if let bounds = node.children(named: "repeat")?.first?.value?["boundsPeriod"] {
                return dates(FHIRNode(value: bounds, type: "Period", element: nil, name: "boundsPeriod", location: node.location))
            }
            return []
        default:
            return []
        }
    }

    /// The interval a date search value covers (R4 search §date: `2020-01`
    /// is the whole month), in microseconds, both ends inclusive; a value
    /// without a time zone is taken as UTC. Nil when it is not a FHIR date or dateTime.
    public static func searchRange(_ text: String) -> (low: Int64, high: Int64)? {
        guard let value = FHIRPathTemporal(text, kind: .dateTime) ?? FHIRPathTemporal(text, kind: .date) else { return nil }
        return (microseconds(value, low: true), microseconds(value, low: false))
    }

    static func range(_ value: FHIRPathTemporal) -> SearchValue {
        .date(low: microseconds(value, low: true), high: microseconds(value, low: false))
    }

    /// The first or last microsecond a date-time of some precision covers;
    /// a value without a time zone is taken as UTC.
    static func microseconds(_ value: FHIRPathTemporal, low: Bool) -> Int64 {
        var t = value
        if t.precision < .month { t.month = low ? 1 : 12 }
        if t.precision < .day { t.day = low ? 1 : FHIRPathTemporal.daysIn(month: t.month, year: t.year) }
        if t.precision < .hour { t.hour = low ? 0 : 23 }
        if t.precision < .minute { t.minute = low ? 0 : 59 }
        if t.precision < .second { t.second = low ? 0 : 59 }
        let days = Int64(daysFromCivil(t.year, t.month, t.day))
        let seconds = days * 86_400 + Int64(t.hour * 3600 + t.minute * 60 + t.second) - Int64((t.timeZoneOffset ?? 0) * 60)
        var micro = seconds * 1_000_000
        if t.precision == .millisecond {
            micro += Int64(t.millisecond) * 1000 + (low ? 0 : 999)
        } else if !low {
            micro += 999_999
        }
        return micro
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// R4 §number: `100` means [99.5, 100.5), by its written precision.
    static func number(_ value: FHIRPathDecimal) -> SearchValue {
        let scale = value.scale ?? FHIRPathDecimal.naturalScale(value.value)
        let half = Decimal(sign: .plus, exponent: -(scale + 1), significand: 5)
        return .number(value: value.value, low: value.value - half, high: value.value + half)
    }

    public static let ucum = "http://unitsofmeasure.org"

    /// A UCUM unit code's factor to its canonical unit, and that unit's code
    /// (`mg` → 0.001, `g`), as quantities are indexed; nil when not UCUM Socle knows.
    public static func canonicalUnit(_ code: String) -> (factor: Decimal, code: String)? {
        UCUMUnit.parse(code).map { ($0.factor, FHIRPathEvaluator.canonicalCode($0)) }
    }

    static func quantities(_ node: FHIRNode) -> [SearchValue] {
        guard let json = node.value else { return [] }
        switch node.type {
        case "Money":
            guard case .number(let text)? = json["value"], let value = Decimal(string: text) else { return [] }
            let currency = json["currency"]?.stringValue
            return [.quantity(value: value, system: currency.map { _ in "urn:iso:std:iso:4217" }, code: currency, unit: nil,
                              canonicalValue: nil, canonicalCode: nil)]
        case "Range":
            return ["low", "high"].flatMap { key -> [SearchValue] in
                guard let bound = json[key] else { return [] }
                return quantities(FHIRNode(value: bound, type: "Quantity", element: nil, name: key, location: node.location))
            }
        default:
            guard FHIRSchema.r4.isType(node.type, a: "Quantity"), case .number(let text)? = json["value"],
                let value = Decimal(string: text)
            else { return [] }
            let system = json["system"]?.stringValue, code = json["code"]?.stringValue
            var canonicalValue: Decimal?, canonicalCode: String?
            if system == ucum, let code, let unit = canonicalUnit(code) {
                canonicalValue = value * unit.factor
                canonicalCode = unit.code
            }
            return [.quantity(value: value, system: system, code: code, unit: json["unit"]?.stringValue,
                              canonicalValue: canonicalValue, canonicalCode: canonicalCode)]
        }
    }
}
