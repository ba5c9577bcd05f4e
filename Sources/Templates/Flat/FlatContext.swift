import Foundation
import JSONCore
import OpenEHR

/// The `ctx/` keys of a FLAT composition: defaults for what a form does not
/// ask (language, territory, composer, time, setting, health care facility,
/// the participations and workflow id every entry carries). Each key is
/// checked when read; a key that is not one of these is refused by name.
struct FlatContext {
    var language: String?
    var territory: String?
    var time: String?
    var endTime: String?
    var location: String?
    var setting: String?
    var composerName: String?
    var composerID: String?
    var composerSelf = false
    var idScheme: String?
    var idNamespace: String?
    var facility: [String: String] = [:]
    var workflow: [String: String] = [:]
    var providerName: String?
    var providerID: String?
    /// Participations by index: function, mode, name, id, id_scheme, id_namespace.
    var participations: [Int: [String: String]] = [:]
    /// Their DV_IDENTIFIERs by participation, then identifier index.
    var identifiers: [Int: [Int: [String: String]]] = [:]

    static let partyFields: Set<String> = ["name", "id", "id_scheme", "id_namespace"]
    static let referenceFields: Set<String> = ["id", "id_scheme", "namespace", "type"]
    static let participationFields: Set<String> = ["name", "id", "function", "mode", "id_scheme", "id_namespace"]
    static let identifierFields: Set<String> = ["id", "issuer", "assigner", "type"]

    /// `name:3` → ("name", 3); a bad index is an error.
    static func indexed(_ text: Substring) throws(FlatComposition.KeyError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else { return (String(text), 0) }
        guard let index = Int(text[text.index(after: colon)...]), (0..<FlatComposition.maximumIndex).contains(index) else {
            throw FlatComposition.KeyError(message: "'\(text)' has no index from 0 to \(FlatComposition.maximumIndex - 1)")
        }
        return (String(text[..<colon]), index)
    }

    /// Reads one key (without `ctx/`).
    mutating func read(_ key: String, _ value: JSON) throws(FlatComposition.KeyError) {
        let text = RMBuilder.text(value)
        let parts = key.split(separator: "|", maxSplits: 1)
        let head = parts.first ?? ""
        let suffix = parts.count > 1 ? parts[1] : nil
        switch (head, suffix) {
        case ("language", nil): language = text
        case ("territory", nil): territory = text
        case ("time", nil): time = text
        case ("end_time", nil): endTime = text
        case ("location", nil): location = text
        case ("setting", nil): setting = text
        case ("composer_name", nil): composerName = text
        case ("composer_id", nil): composerID = text
        case ("composer_self", nil):
            guard let flag = value.boolValue ?? ["true": true, "false": false][text] else {
                throw FlatComposition.KeyError(message: "'\(text)' is not a boolean")
            }
            composerSelf = flag
        case ("id_scheme", nil): idScheme = text
        case ("id_namespace", nil): idNamespace = text
        case ("provider_name", nil): providerName = text
        case ("provider_id", nil): providerID = text
        case ("health_care_facility", let field?) where Self.partyFields.contains(String(field)): facility[String(field)] = text
        case ("work_flow_id", let field?) where Self.referenceFields.contains(String(field)): workflow[String(field)] = text
        default:
            if head.hasPrefix("participation_identifiers") {
                // `participation_identifiers[:i]|field[:j]`
                let (_, participation) = try Self.indexed(head)
                guard let suffix else {
                    // The compact form: `issuer::assigner::id::type` items separated by `;`.
                    for (index, item) in text.split(separator: ";").enumerated() {
                        let fields = item.components(separatedBy: "::")
                        guard fields.count == 4 else {
                            throw FlatComposition.KeyError(message: "'\(item)' is not issuer::assigner::id::type")
                        }
                        for (name, field) in zip(["issuer", "assigner", "id", "type"], fields) where !field.isEmpty {
                            identifiers[participation, default: [:]][index, default: [:]][name] = field
                        }
                    }
                    return
                }
                let (field, index) = try Self.indexed(suffix)
                guard Self.identifierFields.contains(field) else { throw FlatComposition.KeyError(message: "an identifier has no '|\(field)'") }
                identifiers[participation, default: [:]][index, default: [:]][field] = text
                return
            }
            if head.hasPrefix("participation_"), suffix == nil {
                let (field, index) = try Self.indexed(head.dropFirst("participation_".count))
                guard Self.participationFields.contains(field) else { throw FlatComposition.KeyError(message: "a participation has no '\(field)'") }
                participations[index, default: [:]][field] = text
                return
            }
            throw FlatComposition.KeyError(message: "is not a context key (ctx/language, territory, time, end_time, location, setting, composer_name, composer_id, composer_self, id_scheme, id_namespace, health_care_facility|…, participation_…, work_flow_id|…, provider_name, provider_id)")
        }
    }

    func partyReference(id: String, scheme: String?, namespace: String?) -> JSON {
        [
            "id": ["_type": "GENERIC_ID", "value": .string(id), "scheme": .string(scheme ?? idScheme ?? "local")],
            "namespace": .string(namespace ?? idNamespace ?? "local"), "type": "PARTY",
        ]
    }

    func party(name: String?, id: String?, scheme: String? = nil, namespace: String? = nil) -> JSONObject {
        var party = JSONObject([("_type", "PARTY_IDENTIFIED")])
        if let name { party["name"] = .string(name) }
        if let id { party["external_ref"] = partyReference(id: id, scheme: scheme, namespace: namespace) }
        return party
    }

    /// The participations every entry carries, from `participation_…` keys.
    func entryParticipations() -> [JSON] {
        participations.keys.sorted().map { index in
            let fields = participations[index] ?? [:]
            var performer = party(name: fields["name"], id: fields["id"], scheme: fields["id_scheme"], namespace: fields["id_namespace"])
            if let ids = identifiers[index], !ids.isEmpty {
                performer["identifiers"] = .array(ids.keys.sorted().map { JSON.object(JSONObject([("_type", "DV_IDENTIFIER")] + (ids[$0] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })) })
            }
            var participation = JSONObject([("_type", "PARTICIPATION")])
            participation["function"] = ["_type": "DV_TEXT", "value": .string(fields["function"] ?? "unknown")]
            participation["performer"] = .object(performer)
            if let mode = fields["mode"] {
                let code = OpenEHRTerminology.shared.groups["participation_mode"]?.first { $0.value == mode }?.key ?? "193"
                participation["mode"] = [
                    "_type": "DV_CODED_TEXT", "value": .string(mode),
                    "defining_code": ["_type": "CODE_PHRASE", "terminology_id": ["_type": "TERMINOLOGY_ID", "value": "openehr"], "code_string": .string(code)],
                ]
            }
            return .object(participation)
        }
    }

    static let entryTypes: Set<String> = ["OBSERVATION", "EVALUATION", "INSTRUCTION", "ACTION", "ADMIN_ENTRY"]

    /// Gives every entry of the tree the context's participations, workflow id
    /// and provider where its own keys gave none.
    func applyToEntries(_ json: inout JSON) {
        let participations = entryParticipations()
        let workflow: JSON? = workflow["id"].map { id in
            [
                "_type": "OBJECT_REF", "id": ["_type": "GENERIC_ID", "value": .string(id), "scheme": .string(self.workflow["id_scheme"] ?? idScheme ?? "local")],
                "namespace": .string(self.workflow["namespace"] ?? idNamespace ?? "local"), "type": .string(self.workflow["type"] ?? "WORKFLOW"),
            ]
        }
        let provider: JSON? = providerName != nil || providerID != nil ? .object(party(name: providerName, id: providerID)) : nil
        guard !participations.isEmpty || workflow != nil || provider != nil else { return }
        func visit(_ json: inout JSON) {
            switch json {
            case .object(var object):
                if let type = object["_type"]?.stringValue, Self.entryTypes.contains(type) {
                    if !participations.isEmpty, object["other_participations"] == nil { object["other_participations"] = .array(participations) }
                    if let workflow, object["workflow_id"] == nil { object["workflow_id"] = workflow }
                    if let provider, object["provider"] == nil { object["provider"] = provider }
                }
                for member in object.members where member.key == "content" || member.key == "items" {
                    var value = member.value
                    visit(&value)
                    object[member.key] = value
                }
                json = .object(object)
            case .array(var items):
                for index in items.indices { visit(&items[index]) }
                json = .array(items)
            default: return
            }
        }
        visit(&json)
    }
}
