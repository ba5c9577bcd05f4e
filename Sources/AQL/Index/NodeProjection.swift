import JSONCore
import OpenEHR

/// One row of the AQL node index (ARCHITECTURE.md §Storage): a LOCATABLE
/// or a data value of a composition, numbered in pre-order with the number
/// of its last descendant, so that CONTAINS is a range test
/// (`child.num > parent.num AND child.num <= parent.numCap`), and with its
/// leaf value in typed columns for WHERE and ORDER BY.
public struct IndexedNode: Sendable, Equatable {
    public var num: Int
    public var numCap: Int
    public var parent: Int?
    /// The RM attribute that holds the node in its parent (`items`, `value`).
    public var attribute: String
    /// Archetype path from the composition, `/content[openEHR-EHR-OBSERVATION.x.v1]/data[at0001]`.
    public var path: String
    public var rmType: String
    public var archetypeNodeID: String?
    /// The archetype the node belongs to (the nearest archetype root above or at it).
    public var archetypeID: String?
    public var magnitude: Double?
    public var units: String?
    public var text: String?
    public var code: String?
    public var terminology: String?
    /// DV_DATE_TIME and DV_DATE values, as microseconds since the epoch.
    public var time: Int64?
    public var boolean: Bool?
}

/// Projects a decoded composition (every object carrying `_type`) into its
/// index rows. Pure: the same composition always gives the same rows, so
/// the index can be dropped and rebuilt from the canonical versions.
public enum NodeProjection {
    public static func rows(of composition: JSON) -> [IndexedNode] {
        var rows: [IndexedNode] = []
        visit(composition, attribute: "", path: "", parent: nil, archetype: nil, into: &rows)
        return rows
    }

    static func isIndexed(_ object: JSONObject, type: String) -> Bool {
        object["archetype_node_id"] != nil || type.hasPrefix("DV_")
    }

    static func visit(_ value: JSON, attribute: String, path: String, parent: Int?, archetype: String?, into rows: inout [IndexedNode]) {
        switch value {
        case .array(let items):
            for item in items { visit(item, attribute: attribute, path: path, parent: parent, archetype: archetype, into: &rows) }
        case .object(let object):
            let type = object["_type"]?.stringValue ?? ""
            let nodeID = object["archetype_node_id"]?.stringValue
            // The composition itself is `/`; below it, `attribute[node id]`.
            let here = attribute.isEmpty ? path : path + "/" + attribute + (nodeID.map { "[\($0)]" } ?? "")
            var ownParent = parent
            var ownArchetype = archetype
            var index: Int?
            if isIndexed(object, type: type) {
                if let nodeID, !nodeID.hasPrefix("at"), !nodeID.hasPrefix("id") { ownArchetype = nodeID }
                var row = IndexedNode(
                    num: rows.count, numCap: rows.count, parent: parent, attribute: attribute, path: here.isEmpty ? "/" : here, rmType: type,
                    archetypeNodeID: nodeID, archetypeID: ownArchetype)
                fillValue(&row, object, type: type)
                index = rows.count
                rows.append(row)
                ownParent = index
            }
            for (key, member) in object.members where key != "_type" && key != "archetype_node_id" {
                if case .object = member { visit(member, attribute: key, path: here, parent: ownParent, archetype: ownArchetype, into: &rows) }
                if case .array = member { visit(member, attribute: key, path: here, parent: ownParent, archetype: ownArchetype, into: &rows) }
            }
            if let index { rows[index].numCap = rows.count - 1 }
        default:
            break
        }
    }

    /// The leaf value of a data value, in the column its queries use.
    static func fillValue(_ row: inout IndexedNode, _ object: JSONObject, type: String) {
        func number(_ key: String) -> Double? { if case .number(let text)? = object[key] { Double(text) } else { nil } }
        switch type {
        case "DV_QUANTITY":
            row.magnitude = number("magnitude")
            row.units = object["units"]?.stringValue
        case "DV_COUNT":
            row.magnitude = number("magnitude")
        case "DV_PROPORTION":
            if let numerator = number("numerator"), let denominator = number("denominator"), denominator != 0 { row.magnitude = numerator / denominator }
        case "DV_ORDINAL", "DV_SCALE":
            row.magnitude = number("value")
            row.code = object["symbol"]?["defining_code"]?["code_string"]?.stringValue
            row.terminology = object["symbol"]?["defining_code"]?["terminology_id"]?["value"]?.stringValue
            row.text = object["symbol"]?["value"]?.stringValue
        case "DV_CODED_TEXT":
            row.text = object["value"]?.stringValue
            row.code = object["defining_code"]?["code_string"]?.stringValue
            row.terminology = object["defining_code"]?["terminology_id"]?["value"]?.stringValue
        case "DV_TEXT", "DV_URI", "DV_EHR_URI", "DV_TIME", "DV_DURATION":
            row.text = object["value"]?.stringValue
        case "DV_DATE_TIME", "DV_DATE":
            row.text = object["value"]?.stringValue
            row.time = row.text.flatMap(ISODateTime.init)?.microsecondsSinceEpoch
        case "DV_BOOLEAN":
            row.boolean = object["value"]?.boolValue
        case "DV_IDENTIFIER":
            row.text = object["id"]?.stringValue
        default:
            break
        }
    }
}
