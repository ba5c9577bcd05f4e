import JSONCore

/// Checks, on one object `CanonicalDecoder` has read, the RM 1.1.0
/// invariants of its class and the classes it inherits from
/// (`RMInvariant.catalog`, those marked `.decoding`). A violation is
/// reported at the attribute it concerns, naming the invariant.
struct InvariantCheck {
    let type: String
    let object: JSONObject
    let path: LazyPath
    var reader: RMReader

    static let terminology = OpenEHRTerminology.shared

    /// Runs the checks of `type` on `object`.
    static func run(_ type: String, _ object: JSONObject, at path: LazyPath, reader: inout RMReader) {
        var check = InvariantCheck(type: type, object: object, path: path, reader: reader)
        check.dispatch()
        reader = check.reader
    }

    mutating func dispatch() {
        if object["archetype_node_id"] != nil || RMSchema.rm110[type]?.attributes["archetype_node_id"] != nil { locatable() }
        switch type {
        case "DV_TEXT", "DV_CODED_TEXT": text()
        case "CODE_PHRASE": codePhrase()
        case "TERM_MAPPING": termMapping()
        case "DV_IDENTIFIER": identifier()
        case "DV_QUANTITY", "DV_COUNT", "DV_PROPORTION", "DV_DURATION", "DV_ORDINAL", "DV_SCALE", "DV_DATE", "DV_TIME", "DV_DATE_TIME":
            ordered()
        case "DV_INTERVAL": interval()
        case "REFERENCE_RANGE": referenceRange()
        case "DV_PERIODIC_TIME_SPECIFICATION", "DV_GENERAL_TIME_SPECIFICATION": timeSpecification()
        case "DV_MULTIMEDIA", "DV_PARSABLE": encapsulated()
        case "DV_URI", "DV_EHR_URI": uri()
        default: structure()
        }
        identification()
    }

    /// Reports a violation of `invariant` at `suffix` below the object.
    mutating func violation(_ invariant: RMInvariant, _ suffix: String, _ message: String) {
        reader.report(path + suffix, "\(message) (RM invariant \(invariant))")
    }

    // MARK: Helpers

    func string(_ key: String) -> String? { object[key]?.stringValue }

    func number(_ key: String) -> Double? { Self.number(object[key]) }

    static func number(_ json: JSON?) -> Double? {
        guard case .number(let text)? = json else { return nil }
        return Double(text)
    }

    static func isIntegral(_ value: Double) -> Bool { value.rounded() == value }

    /// A present attribute holding an empty string.
    mutating func requireNonEmpty(_ key: String, _ invariant: RMInvariant, what: String? = nil) {
        if let text = string(key), text.isEmpty { violation(invariant, "/" + key, "\(what ?? key) must not be empty") }
    }

    /// A CODE_PHRASE attribute that must name a code of one of the code
    /// sets the terminology ships (ISO 639-1 languages, IANA media types …).
    /// For character sets only the code is checked: the openEHR SDK writes
    /// them with the terminology id `Unicode`.
    mutating func codeSet(_ key: String, _ set: String, _ invariant: RMInvariant) {
        guard case .object(let phrase)? = object[key] else { return }
        let terminologyID = phrase["terminology_id"]?["value"]?.stringValue ?? ""
        let code = phrase["code_string"]?.stringValue ?? ""
        guard terminologyID == set || set == "IANA_character-sets" else {
            violation(invariant, "/" + key + "/terminology_id/value", "must be \(set), found '\(terminologyID)'")
            return
        }
        if let codes = Self.terminology.codeSets[set], !codes.contains(code) {
            violation(invariant, "/" + key + "/code_string", "'\(code)' is not a code of \(set)")
        }
    }

    /// A DV_CODED_TEXT attribute coded in a group of the openEHR terminology.
    mutating func group(_ key: String, _ group: String, _ invariant: RMInvariant) {
        guard case .object(let text)? = object[key] else { return }
        guard case .object(let code)? = text["defining_code"] else {
            violation(invariant, "/" + key, "must be a DV_CODED_TEXT of the openEHR terminology group '\(group)'")
            return
        }
        let terminologyID = code["terminology_id"]?["value"]?.stringValue ?? ""
        let codeString = code["code_string"]?.stringValue ?? ""
        guard terminologyID == "openehr" else {
            violation(invariant, "/" + key + "/defining_code/terminology_id/value", "must be openehr (group '\(group)'), found '\(terminologyID)'")
            return
        }
        if !Self.terminology.contains(codeString, inGroup: group) {
            violation(invariant, "/" + key + "/defining_code/code_string", "code \(codeString) is not in the openEHR terminology group '\(group)'")
        }
    }

    // MARK: Identification and references

    mutating func identification() {
        switch type {
        case "HIER_OBJECT_ID", "OBJECT_VERSION_ID", "ARCHETYPE_ID", "TEMPLATE_ID", "GENERIC_ID", "TERMINOLOGY_ID":
            requireNonEmpty("value", RMInvariant("OBJECT_ID", "Value_exists"), what: "the identifier")
        case "OBJECT_REF", "PARTY_REF", "LOCATABLE_REF", "ACCESS_GROUP_REF":
            requireNonEmpty("namespace", RMInvariant("OBJECT_REF", "Namespace_exists"))
            requireNonEmpty("type", RMInvariant("OBJECT_REF", "Type_exists"))
            if type == "PARTY_REF", let kind = string("type"), !kind.isEmpty, !Self.partyTypes.contains(kind) {
                violation(
                    RMInvariant("PARTY_REF", "Type_validity"), "/type",
                    "'\(kind)' is not a party type (\(Self.partyTypes.sorted().joined(separator: ", ")))")
            }
        default: break
        }
    }

    static let partyTypes: Set<String> = ["PERSON", "ORGANISATION", "GROUP", "AGENT", "ROLE", "PARTY", "ACTOR"]

    mutating func locatable() {
        requireNonEmpty("archetype_node_id", RMInvariant("LOCATABLE", "Archetype_node_id_valid"))
    }
}
