import Foundation
import JSONCore
import OpenEHR

extension FlatComposition {
    /// The FLAT form of a canonical composition: every value the web
    /// template names, under its node ids, `:n` where a node repeats.
    public func flat(_ composition: JSON) -> JSONObject {
        var result = JSONObject()
        guard let tree = webTemplate["tree"], let rootID = tree["id"]?.stringValue else { return result }
        for child in tree["children"]?.arrayValue ?? [] {
            emit(child, parentPath: "", objects: [composition], root: composition, key: rootID, into: &result)
        }
        return result
    }

    func emit(_ node: JSON, parentPath: String, objects: [JSON], root: JSON, key: String, into result: inout JSONObject) {
        guard let id = node["id"]?.stringValue, let aql = node["aqlPath"]?.stringValue else { return }
        // A node hoisted above its RM parent (an event's time) is found from the root.
        let (start, relative) = aql.hasPrefix(parentPath) ? (objects, String(aql.dropFirst(parentPath.count))) : ([root], aql)
        var found = start
        for step in AQLStep.parse(relative) {
            found = found.flatMap { object -> [JSON] in
                let values: [JSON]
                switch object[step.attribute] {
                case .array(let items)?: values = items
                case let value?: values = [value]
                case nil: values = []
                }
                return values.filter { value in
                    if let nodeID = step.nodeID, value["archetype_node_id"]?.stringValue != nodeID { return false }
                    if let name = step.name, value["name"]?["value"]?.stringValue != name { return false }
                    return true
                }
            }
        }
        let rmType = node["rmType"]?.stringValue ?? ""
        // An ELEMENT's value alternatives (`coded_text_value`): the one of this node's type.
        if id.hasSuffix("_value"), rmType.hasPrefix("DV_") {
            found = found.filter { $0["_type"]?.stringValue == rmType }
        }
        let repeats = (node["max"].flatMap { if case .number(let n) = $0 { Int(n) } else { nil } } ?? 1) != 1
        for (index, value) in found.enumerated() {
            if !repeats && index > 0 { break }
            let here = key + "/" + id + (repeats ? ":\(index)" : "")
            if RMBuilder.leafTypes.contains(rmType) {
                Self.writeLeaf(value, type: rmType, key: here, into: &result)
            } else {
                for child in node["children"]?.arrayValue ?? [] where child["aqlPath"]?.stringValue?.contains("/instruction_details/") != true {
                    emit(child, parentPath: aql, objects: [value], root: root, key: here, into: &result)
                }
                Self.writeRMAttributes(value, key: here, into: &result)
            }
        }
    }

    /// RM attributes the web template does not show, as FLAT writes them
    /// with an underscore: the object's uid and an action's instruction details.
    static func writeRMAttributes(_ value: JSON, key: String, into result: inout JSONObject) {
        if let uid = value["uid"]?["value"] { result[key + "/_uid"] = uid }
        if let details = value["instruction_details"] {
            if let uid = details["instruction_id"]?["id"]?["value"] { result[key + "/_instruction_details|composition_uid"] = uid }
            if let path = details["instruction_id"]?["path"] { result[key + "/_instruction_details|path"] = path }
            if let activity = details["activity_id"] { result[key + "/_instruction_details|activity_id"] = activity }
        }
    }

    /// The suffixes of one value (`|magnitude`, `|unit`; `|code`, `|value`, `|terminology`).
    static func writeLeaf(_ value: JSON, type: String, key: String, into result: inout JSONObject) {
        func put(_ suffix: String?, _ json: JSON?) {
            guard let json, json != .null else { return }
            result[suffix.map { key + "|" + $0 } ?? key] = json
        }
        let actual = value["_type"]?.stringValue ?? type
        switch actual {
        case "DV_CODED_TEXT":
            put("code", value["defining_code"]?["code_string"])
            put("value", value["value"])
            put("terminology", value["defining_code"]?["terminology_id"]?["value"])
        case "DV_QUANTITY":
            put("magnitude", value["magnitude"])
            put("unit", value["units"])
        case "DV_COUNT": put(nil, value["magnitude"])
        case "DV_ORDINAL":
            put("code", value["symbol"]?["defining_code"]?["code_string"])
            put("value", value["symbol"]?["value"])
            put("ordinal", value["value"])
        case "DV_PROPORTION":
            put("numerator", value["numerator"])
            put("denominator", value["denominator"])
            put("type", value["type"])
        case "DV_IDENTIFIER":
            for field in ["id", "issuer", "assigner", "type"] { put(field, value[field]) }
        case "DV_PARSABLE":
            put(nil, value["value"])
            put("formalism", value["formalism"])
        case "DV_MULTIMEDIA":
            put(nil, value["uri"]?["value"])
            put("mediatype", value["media_type"]?["code_string"])
            put("size", value["size"])
        case "CODE_PHRASE":
            put("code", value["code_string"])
            put("terminology", value["terminology_id"]?["value"])
        case "PARTY_IDENTIFIED", "PARTY_SELF", "PARTY_RELATED":
            put("name", value["name"])
            put("id", value["external_ref"]?["id"]?["value"])
            put("id_scheme", value["external_ref"]?["id"]?["scheme"])
            put("id_namespace", value["external_ref"]?["namespace"])
        case "STRING":
            put(nil, value)
        default:
            if case .object = value { put(nil, value["value"]) } else { put(nil, value) }
        }
    }
}
