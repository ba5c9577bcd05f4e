import Foundation
import JSONCore
import OpenEHR

extension FlatComposition {
    /// The FLAT form of a canonical composition: every value the web
    /// template names, under its node ids, `:n` where a node repeats.
    public func flat(_ composition: JSON) -> JSONObject {
        var result = FlatKeys()
        guard let tree = webTemplate["tree"], let rootID = tree["id"]?.stringValue else { return result.object }
        // The composition's own uid first: clients written for EHRbase take
        // the first `…/_uid` key of a FLAT answer as the composition's.
        Self.writeRMAttributes(composition, key: rootID, into: &result)
        for child in tree["children"]?.arrayValue ?? [] {
            emit(child, parentPath: "", objects: [composition], root: composition, key: rootID, into: &result)
        }
        writeExtras(composition, node: tree, aql: "", key: rootID, into: &result)
        // The composition's name where it is not the template's.
        let templateName = ExampleComposition(template: template, time: "").name(template.definition, terms: template.definition.terms, depth: 0)
        if let name = composition["name"], name["value"] != templateName["value"] { result[rootID + "/_name"] = name["value"] }
        return result.object
    }

    func emit(_ node: JSON, parentPath: String, objects: [JSON], root: JSON, key: String, into result: inout FlatKeys) {
        guard let id = node["id"]?.stringValue, let aql = node["aqlPath"]?.stringValue else { return }
        let path = steps(aql)
        // A node hoisted above its RM parent (an event's time) is found from the root.
        let below = aql.hasPrefix(parentPath)
        let parentSteps = below ? steps(parentPath).count : 0
        var found = Self.objects(at: path.dropFirst(parentSteps), in: below ? objects : [root])
        let rmType = node["rmType"]?.stringValue ?? ""
        // An ELEMENT's value alternatives (`coded_text_value`): the one of this node's type.
        if id.hasSuffix("_value"), rmType.hasPrefix("DV_") {
            found = found.filter { $0["_type"]?.stringValue == RMTypeName.split(rmType).base }
        }
        let repeats = (node["max"].flatMap { if case .number(let n) = $0 { Int(n) } else { nil } } ?? 1) != 1
        let (baseType, _) = RMTypeName.split(rmType)
        for (index, value) in found.enumerated() {
            if !repeats && index > 0 { break }
            let here = key + "/" + id + (repeats ? ":\(index)" : "")
            if RMBuilder.leafTypes.contains(rmType) || baseType == "DV_INTERVAL" {
                if baseType == "DV_INTERVAL", case .object(let interval) = value {
                    // Limits under their web template nodes (`interval/lower|magnitude`), flags as suffixes.
                    for (name, member) in interval.members where name != "_type" {
                        switch member {
                        case .object where name == "lower" || name == "upper":
                            emitRM(member, key: here + "/" + name, owner: "DV_INTERVAL", attribute: name, into: &result)
                        case .object, .array: emitRM(member, key: here + "/_" + name, owner: "DV_INTERVAL", attribute: name, into: &result)
                        default: result[here + "|" + name] = member
                        }
                    }
                } else {
                    // A type the reader would not take from the suffixes alone (a PARTY_RELATED subject) is named first.
                    if let actual = value["_type"]?.stringValue, !Self.derivableTypes(for: rmType).contains(actual) {
                        result[here + "|_type"] = .string(actual)
                    }
                    Self.writeLeaf(value, type: rmType, key: here, into: &result)
                    writeValueExtras(value, type: value["_type"]?.stringValue ?? rmType, key: here, into: &result)
                }
            } else {
                for child in node["children"]?.arrayValue ?? [] where !Self.contains(child["aqlPath"]?.stringValue ?? "", "/instruction_details/") {
                    emit(child, parentPath: aql, objects: [value], root: root, key: here, into: &result)
                }
                Self.writeRMAttributes(value, key: here, into: &result)
                writeExtras(value, node: node, aql: aql, key: here, into: &result)
                // The history a form does not show: its origin.
                if rmType == "OBSERVATION", let origin = value["data"]?["origin"]?["value"] { result[here + "/history_origin"] = origin }
            }
        }
        // An element's own attributes (`_null_flavour`, `_feeder_audit`), under its value's key.
        if RMBuilder.leafTypes.contains(rmType) || baseType == "DV_INTERVAL", aql.hasSuffix("/value") {
            // The element's path is the value's without its last step.
            var elements = Self.objects(at: path.dropLast().dropFirst(parentSteps), in: below ? objects : [root])
            if id.hasSuffix("_value") { elements = elements.filter { $0["value"]?["_type"]?.stringValue == baseType } }
            for (index, element) in elements.enumerated() where element["_type"] == "ELEMENT" {
                if !repeats && index > 0 { break }
                let here = key + "/" + id + (repeats ? ":\(index)" : "")
                guard case .object(let object) = element else { continue }
                for (name, member) in object.members where !["_type", "name", "archetype_node_id", "value"].contains(name) {
                    emitRM(member, key: here + "/_" + name, owner: "ELEMENT", attribute: name, into: &result)
                }
            }
        }
    }

    /// Whether `needle` occurs in `text`, compared byte by byte.
    static func contains(_ text: String, _ needle: String) -> Bool {
        var text = text
        var needle = needle
        return text.withUTF8 { haystack in
            needle.withUTF8 { needle in
                guard needle.count <= haystack.count, let first = needle.first else { return needle.isEmpty }
                var start = 0
                while start + needle.count <= haystack.count {
                    if haystack[start] == first, memcmp(haystack.baseAddress! + start, needle.baseAddress!, needle.count) == 0 { return true }
                    start += 1
                }
                return false
            }
        }
    }

    /// A web template node's AQL path as steps (parsed once per template).
    func steps(_ aql: String) -> [AQLStep] { stepsByAQL[aql] ?? AQLStep.parse(aql) }

    /// The objects `steps` reach from `start`: each step's attribute, items
    /// of a list one by one, kept when their node id and name match the step's.
    static func objects(at steps: ArraySlice<AQLStep>, in start: [JSON]) -> [JSON] {
        var found = start
        for step in steps {
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
        return found
    }

    /// The types the reader makes for a node of this type from its suffixes
    /// (a party with a name is identified, a text with a code is coded).
    static func derivableTypes(for rmType: String) -> Set<String> {
        switch rmType {
        case "PARTY_PROXY", "PARTY_SELF", "PARTY_IDENTIFIED": ["PARTY_SELF", "PARTY_IDENTIFIED"]
        case "DV_TEXT", "DV_CODED_TEXT": ["DV_TEXT", "DV_CODED_TEXT"]
        case "DV_STATE": ["DV_CODED_TEXT"]
        default: [rmType]
        }
    }

    /// Attributes FLAT does not write with an underscore: the tree itself.
    static let structural: Set<String> = ["_type", "name", "archetype_node_id", "archetype_details", "instruction_details"]

    /// The RM attributes of a node's object that no node of the web template
    /// shows (`_uid` aside, written by `writeRMAttributes`): `_work_flow_id`,
    /// `_guideline_id`, `_feeder_audit`, `_link:0`, a context's
    /// `_health_care_facility` and `_participation:0`, an event's `_width`.
    func writeExtras(_ value: JSON, node: JSON, aql: String, key: String, into result: inout FlatKeys) {
        guard case .object(let object) = value, let type = object["_type"]?.stringValue ?? (aql.isEmpty ? "COMPOSITION" : nil) else { return }
        var covered: Set<String> = ["uid"]
        for child in node["children"]?.arrayValue ?? [] {
            guard let path = child["aqlPath"]?.stringValue, path.hasPrefix(aql) else { continue }
            if let first = steps(path).dropFirst(steps(aql).count).first { covered.insert(first.attribute) }
        }
        for (name, member) in object.members where !Self.structural.contains(name) && !covered.contains(name) {
            emitRM(member, key: key + "/_" + name, owner: type, attribute: name, into: &result)
        }
        if let uid = object["uid"], uid["_type"]?.stringValue == "OBJECT_VERSION_ID" { result[key + "/_uid|_type"] = "OBJECT_VERSION_ID" }
    }

    /// The attributes of a value beyond those its suffixes carry (`|accuracy`, `/_normal_range/lower|magnitude`).
    func writeValueExtras(_ value: JSON, type: String, key: String, into result: inout FlatKeys) {
        guard case .object(let object) = value else { return }
        let consumed = Self.leafAttributes[type] ?? ["value"]
        for (name, member) in object.members where name != "_type" && !consumed.contains(name) {
            switch member {
            case .object, .array: emitRM(member, key: key + "/_" + name, owner: type, attribute: name, into: &result)
            default: result[key + "|" + name] = member
            }
        }
    }

    /// The attributes `writeLeaf` writes as suffixes, by type.
    static let leafAttributes: [String: Set<String>] = [
        "DV_CODED_TEXT": ["value", "defining_code"], "DV_TEXT": ["value"], "DV_QUANTITY": ["magnitude", "units"], "DV_COUNT": ["magnitude"],
        "DV_ORDINAL": ["symbol", "value"], "DV_PROPORTION": ["numerator", "denominator", "type"], "DV_IDENTIFIER": ["id", "issuer", "assigner", "type"],
        "DV_PARSABLE": ["value", "formalism"], "DV_MULTIMEDIA": ["uri", "media_type", "size"], "CODE_PHRASE": ["code_string", "terminology_id"],
        "PARTY_IDENTIFIED": ["name", "external_ref"], "PARTY_SELF": ["name", "external_ref"], "PARTY_RELATED": ["name", "external_ref"],
    ]
    /// Types written through `writeLeaf` when met below a node.
    static let suffixTypes: Set<String> = [
        "DV_TEXT", "DV_CODED_TEXT", "DV_QUANTITY", "DV_COUNT", "DV_BOOLEAN", "DV_DATE_TIME", "DV_DATE", "DV_TIME", "DV_DURATION", "DV_ORDINAL",
        "DV_PROPORTION", "DV_IDENTIFIER", "DV_URI", "DV_EHR_URI", "DV_MULTIMEDIA", "DV_PARSABLE", "CODE_PHRASE", "PARTY_SELF", "PARTY_IDENTIFIED",
        "PARTY_RELATED", "HIER_OBJECT_ID", "OBJECT_VERSION_ID", "GENERIC_ID", "TERMINOLOGY_ID", "ARCHETYPE_ID", "TEMPLATE_ID",
    ]

    /// Any RM value below a key: values by their suffixes, other objects
    /// attribute by attribute (`/_name` for objects, `|name` for
    /// primitives), lists by index; `|_type` where the reader would take
    /// another type for the position.
    func emitRM(_ json: JSON, key: String, owner: String, attribute: String, into result: inout FlatKeys) {
        switch json {
        case .array(let items):
            for (index, item) in items.enumerated() { emitRM(item, key: key + ":\(index)", owner: owner, attribute: attribute, into: &result) }
        case .object(let object):
            let type = object["_type"]?.stringValue ?? ""
            if let declared = RMSchema.rm110[owner]?.attributes[attribute], declared.primitive == nil, !type.isEmpty {
                let expected = RMBuilder.preferredType(declared)
                if type != expected, !(type == "DV_CODED_TEXT" && expected == "DV_TEXT") { result[key + "|_type"] = .string(type) }
            }
            if Self.suffixTypes.contains(type) {
                Self.writeLeaf(json, type: type, key: key, into: &result)
                writeValueExtras(json, type: type, key: key, into: &result)
                return
            }
            for (name, member) in object.members where name != "_type" {
                switch member {
                case .object, .array: emitRM(member, key: key + "/_" + name, owner: type, attribute: name, into: &result)
                default: result[key + "|" + name] = member
                }
            }
        default:
            result[key] = json
        }
    }

    /// RM attributes the web template does not show, as FLAT writes them
    /// with an underscore: the object's uid and an action's instruction details.
    static func writeRMAttributes(_ value: JSON, key: String, into result: inout FlatKeys) {
        if let uid = value["uid"]?["value"] { result[key + "/_uid"] = uid }
        if let details = value["instruction_details"] {
            if let uid = details["instruction_id"]?["id"]?["value"] { result[key + "/_instruction_details|composition_uid"] = uid }
            if let path = details["instruction_id"]?["path"] { result[key + "/_instruction_details|path"] = path }
            if let activity = details["activity_id"] { result[key + "/_instruction_details|activity_id"] = activity }
        }
    }

    /// The suffixes of one value (`|magnitude`, `|unit`; `|code`, `|value`, `|terminology`).
    static func writeLeaf(_ value: JSON, type: String, key: String, into result: inout FlatKeys) {
        func put(_ suffix: String?, _ json: JSON?) {
            guard let json, json != .null else { return }
            result[suffix.map { key + "|" + $0 } ?? key] = json
        }
        let actual = value["_type"]?.stringValue ?? type
        switch actual {
        case "DV_TEXT" where type == "DV_CODED_TEXT":
            // Free text where a code is expected.
            put("other", value["value"])
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

/// FLAT keys as they are written: in order, each key once, found in constant time.
struct FlatKeys {
    private var members: [(String, JSON)] = []
    private var positions: [String: Int] = [:]

    subscript(key: String) -> JSON? {
        get { positions[key].map { members[$0].1 } }
        set {
            guard let newValue else {
                if let position = positions[key] {
                    members.remove(at: position)
                    positions = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1.0, $0) })
                }
                return
            }
            if let position = positions[key] {
                members[position].1 = newValue
            } else {
                positions[key] = members.count
                members.append((key, newValue))
            }
        }
    }

    var object: JSONObject { JSONObject(members) }
}
