import JSONCore
import OpenEHR

/// One row of the AQL node index (ARCHITECTURE.md §Storage, docs/architecture.md
/// §AQL): a LOCATABLE or a data value of a composition, numbered in pre-order
/// with the number of its last descendant, so that CONTAINS is a range test
/// (`child.num > parent.num AND child.num <= parent.numCap`). Each row knows
/// the archetype root it belongs to and its path from that root, so that a
/// query path under an archetype (`o/data[at0001]/…/value`) is one equality
/// on `(archetype_id, apath)`, and the leaf value sits in typed columns for
/// WHERE and ORDER BY.
public struct IndexedNode: Sendable, Equatable {
    public var num: Int
    public var numCap: Int
    public var parent: Int?
    /// The number of the nearest archetype root at or above the node.
    public var rootNum: Int
    /// The RM attribute that holds the node in its parent (`items`, `value`).
    public var attribute: String
    /// Path from the composition, `/content[openEHR-EHR-OBSERVATION.x.v1]/data[at0001]`.
    public var path: String
    /// Path from the archetype root: empty for the root itself, `/data[at0001]/events[at0006]` below it.
    public var archetypePath: String
    /// Where the node is in the composition's canonical JSON, in the JSON
    /// path syntax both engines read (`$.content[0].data.events[1]`): a
    /// query reads an attribute the index has no column for from there.
    public var jsonPath: String
    public var rmType: String
    public var archetypeNodeID: String?
    /// The archetype the node belongs to (the nearest archetype root at or above it).
    public var archetypeID: String?
    /// `name/value` of a LOCATABLE: kept on the node's own row rather than as a row of its own.
    public var name: String?
    /// Numeric leaf: magnitude, count, ordinal value, proportion, boolean as 0/1,
    /// and DV_DATE_TIME / DV_DATE as microseconds since the epoch.
    public var number: Double?
    /// Text leaf: DV_TEXT value, the written date-time, DV_IDENTIFIER id, an ordinal's symbol.
    public var string: String?
    public var code: String?
    public var terminology: String?
    public var units: String?
}

/// Projects a decoded composition (every object carrying `_type`) into its
/// index rows. Pure: the same composition always gives the same rows, so
/// the index can be dropped and rebuilt from the canonical versions.
public enum NodeProjection {
    public static func rows(of composition: JSON) -> [IndexedNode] {
        var walker = Walker(keepValues: false)
        walker.visit(composition, attribute: "", at: Place(parent: nil, root: 0, rootPathEnd: 0, archetype: nil))
        return walker.rows
    }

    /// The rows with the JSON value of each, in the same numbering: what a
    /// query result needs to give back the RM object a row stands for.
    public static func nodes(of composition: JSON) -> [(row: IndexedNode, value: JSON)] {
        var walker = Walker(keepValues: true)
        walker.visit(composition, attribute: "", at: Place(parent: nil, root: 0, rootPathEnd: 0, archetype: nil))
        return Array(zip(walker.rows, walker.values))
    }

    /// The classes that are neither LOCATABLE nor data values but can be
    /// contained in a query (AQL 1.1 §4.2.3): each has a row, so that
    /// `CONTAINS EVENT_CONTEXT` is the same range test as any other class.
    public static let containableParts: Set<String> = ["EVENT_CONTEXT", "FEEDER_AUDIT", "ISM_TRANSITION"]

    static func isIndexed(type: String, nodeID: String?, attribute: String) -> Bool {
        if attribute == "name" && type.hasPrefix("DV_") { return false }
        return nodeID != nil || type.hasPrefix("DV_") || containableParts.contains(type)
    }

    static func isArchetypeRoot(_ nodeID: String?) -> Bool {
        guard let nodeID else { return false }
        return !nodeID.hasPrefix("at") && !nodeID.hasPrefix("id")
    }

    /// The rows above the value being visited: its nearest row, its
    /// archetype root's row and where that root's path ends in the path
    /// from the composition (the archetype path starts there).
    struct Place {
        var parent: Int?
        var root: Int
        var rootPathEnd: Int
        var archetype: String?
    }

    /// Walks the composition in pre-order. The path from the composition
    /// and the JSON place are grown as the walk goes down and cut back as
    /// it comes up, in byte buffers: strings are made only for the rows,
    /// not for each of the many objects without one (a code phrase, a
    /// terminology id, a party).
    struct Walker {
        let keepValues: Bool
        var rows: [IndexedNode] = []
        var values: [JSON] = []
        /// `/content[openEHR-EHR-OBSERVATION.x.v1]/data[at0001]` of the value being visited.
        var path: [UInt8] = []
        /// `$.content[0].data` of the value being visited.
        var jsonPath: [UInt8] = [UInt8(ascii: "$")]

        init(keepValues: Bool) {
            self.keepValues = keepValues
            path.reserveCapacity(256)
            jsonPath.reserveCapacity(256)
        }

        mutating func visit(_ value: JSON, attribute: String, at place: Place) {
            switch value {
            case .array(let items):
                let end = jsonPath.count
                for (position, item) in items.enumerated() {
                    jsonPath.append(UInt8(ascii: "["))
                    Self.appendDigits(position, to: &jsonPath)
                    jsonPath.append(UInt8(ascii: "]"))
                    visit(item, attribute: attribute, at: place)
                    jsonPath.removeLast(jsonPath.count - end)
                }
            case .object(let object):
                visitObject(value, object, attribute: attribute, at: place)
            default:
                break
            }
        }

        mutating func visitObject(_ value: JSON, _ object: JSONObject, attribute: String, at place: Place) {
            let type = object["_type"]?.stringValue ?? ""
            let nodeID = object["archetype_node_id"]?.stringValue
            // The composition itself is the empty path; below it, `attribute[node id]`.
            let pathEnd = path.count
            if !attribute.isEmpty {
                path.append(UInt8(ascii: "/"))
                path.append(contentsOf: attribute.utf8)
                if let nodeID {
                    path.append(UInt8(ascii: "["))
                    path.append(contentsOf: nodeID.utf8)
                    path.append(UInt8(ascii: "]"))
                }
            }
            var below = place
            var index: Int?
            if NodeProjection.isIndexed(type: type, nodeID: nodeID, attribute: attribute) {
                if NodeProjection.isArchetypeRoot(nodeID) {
                    below.archetype = nodeID
                    below.root = rows.count
                    below.rootPathEnd = path.count
                }
                var row = IndexedNode(
                    num: rows.count, numCap: rows.count, parent: place.parent, rootNum: below.root, attribute: attribute,
                    path: String(decoding: path, as: UTF8.self), archetypePath: String(decoding: path[below.rootPathEnd...], as: UTF8.self),
                    jsonPath: String(decoding: jsonPath, as: UTF8.self), rmType: type, archetypeNodeID: nodeID, archetypeID: below.archetype)
                row.name = object["name"]?["value"]?.stringValue
                NodeProjection.fillValue(&row, object, type: type)
                index = rows.count
                rows.append(row)
                if keepValues { values.append(value) }
                below.parent = index
            }
            let jsonPathEnd = jsonPath.count
            for (key, member) in object.members where key != "_type" && key != "archetype_node_id" {
                switch member {
                case .object, .array:
                    jsonPath.append(UInt8(ascii: "."))
                    jsonPath.append(contentsOf: key.utf8)
                    visit(member, attribute: key, at: below)
                    jsonPath.removeLast(jsonPath.count - jsonPathEnd)
                default: break
                }
            }
            path.removeLast(path.count - pathEnd)
            if let index { rows[index].numCap = rows.count - 1 }
        }

        /// The decimal digits of a position in an array.
        static func appendDigits(_ number: Int, to bytes: inout [UInt8]) {
            if number >= 10 { appendDigits(number / 10, to: &bytes) }
            bytes.append(UInt8(ascii: "0") + UInt8(number % 10))
        }
    }

    /// The leaf value of a data value, in the column its queries use.
    static func fillValue(_ row: inout IndexedNode, _ object: JSONObject, type: String) {
        func number(_ key: String) -> Double? { if case .number(let text)? = object[key] { Double(text) } else { nil } }
        func codePhrase(_ phrase: JSON?) {
            row.code = phrase?["code_string"]?.stringValue
            row.terminology = phrase?["terminology_id"]?["value"]?.stringValue
        }
        switch type {
        case "DV_QUANTITY":
            row.number = number("magnitude")
            row.units = object["units"]?.stringValue
        case "DV_COUNT":
            row.number = number("magnitude")
        case "DV_PROPORTION":
            if let numerator = number("numerator"), let denominator = number("denominator"), denominator != 0 { row.number = numerator / denominator }
        case "DV_ORDINAL", "DV_SCALE":
            row.number = number("value")
            row.string = object["symbol"]?["value"]?.stringValue
            codePhrase(object["symbol"]?["defining_code"])
        case "DV_CODED_TEXT":
            row.string = object["value"]?.stringValue
            codePhrase(object["defining_code"])
        case "DV_TEXT", "DV_URI", "DV_EHR_URI", "DV_TIME", "DV_DURATION":
            row.string = object["value"]?.stringValue
        case "DV_DATE_TIME", "DV_DATE":
            row.string = object["value"]?.stringValue
            row.number = row.string.flatMap(ISODateTime.init).map { Double($0.microsecondsSinceEpoch) }
        case "DV_BOOLEAN":
            row.number = object["value"]?.boolValue.map { $0 ? 1 : 0 }
        case "DV_IDENTIFIER":
            row.string = object["id"]?.stringValue
        default:
            break
        }
    }
}

/// Which index column holds an attribute path below a data value: the one
/// table that `NodeProjection` fills, the compiler compares on and the
/// result reader reads from.
public enum LeafColumn: Sendable, Equatable {
    /// `name/value` of any LOCATABLE.
    case name
    /// `num_value`, a real (magnitude) or a whole number (count, ordinal).
    case number
    case integer
    /// `num_value` as 0/1.
    case boolean
    /// `str_value`: texts, and date-times as written (their `num_value` holds microseconds).
    case string
    case code
    case terminology
    case units

    static let texts: Set<String> = ["DV_TEXT", "DV_CODED_TEXT", "DV_URI", "DV_EHR_URI", "DV_TIME", "DV_DURATION"]
    public static let dates: Set<String> = ["DV_DATE_TIME", "DV_DATE"]

    /// The column for `steps` below a node of `rmType`, or nil when the value
    /// is not in the index (it is then read from the stored version).
    public static func column(rmType: String, steps: [String]) -> LeafColumn? {
        let ordinal = rmType == "DV_ORDINAL" || rmType == "DV_SCALE"
        switch steps {
        case ["name", "value"]: return .name
        case ["magnitude"] where rmType == "DV_QUANTITY": return .number
        case ["magnitude"] where rmType == "DV_COUNT": return .integer
        case ["units"] where rmType == "DV_QUANTITY": return .units
        case ["value"] where texts.contains(rmType) || dates.contains(rmType): return .string
        case ["value"] where rmType == "DV_ORDINAL": return .integer
        case ["value"] where rmType == "DV_SCALE": return .number
        case ["value"] where rmType == "DV_BOOLEAN": return .boolean
        case ["defining_code", "code_string"] where rmType == "DV_CODED_TEXT": return .code
        case ["defining_code", "terminology_id", "value"] where rmType == "DV_CODED_TEXT": return .terminology
        case ["symbol", "value"] where ordinal: return .string
        case ["symbol", "defining_code", "code_string"] where ordinal: return .code
        case ["symbol", "defining_code", "terminology_id", "value"] where ordinal: return .terminology
        case ["id"] where rmType == "DV_IDENTIFIER": return .string
        default: return nil
        }
    }

    /// The node column that holds it.
    public var planColumn: PlanColumn {
        switch self {
        case .name: .name
        case .number, .integer, .boolean: .numValue
        case .string: .strValue
        case .code: .code
        case .terminology: .terminology
        case .units: .units
        }
    }
}
