import Foundation
import JSONCore
import Templates

/// The nodes of a template as the mapping engine writes them: each by its
/// archetype path (name predicates dropped, an ELEMENT's `/value` folded into
/// it), with the FLAT id path that reaches it and which nodes on the way may
/// repeat. Read once from the web template (`WebTemplate.generate`).
public struct MappingTemplate: Sendable {
    /// A node of the web template.
    public struct Node: Sendable {
        public let id: String
        public let rmType: String
        public let nodeID: String?
        public let repeats: Bool
        /// The archetype path, normalised (see `key(_:)`).
        public let key: String
        /// Index into `nodes` of the parent; nil for the root.
        public let parent: Int?
        /// The one terminology the template allows for the node's code, when it names one.
        public let terminology: String?
        /// The units the template allows for a quantity (empty: any).
        public var units: [String] = []
    }

    public let templateID: String
    public private(set) var nodes: [Node] = []
    private var byKey: [String: Int] = [:]
    /// The nodes of each key without names, in template order.
    private var byPlainKey: [String: [Int]] = [:]
    /// Every path some node lies below (a structure the web template leaves out among them).
    private var above: Set<String> = []
    private var childIndexes: [[Int]] = []

    public init(webTemplate: JSON) {
        templateID = webTemplate["templateId"]?.stringValue ?? ""
        if let tree = webTemplate["tree"] { add(tree, parent: nil) }
        childIndexes = Array(repeating: [], count: nodes.count)
        for index in nodes.indices {
            if let parent = nodes[index].parent { childIndexes[parent].append(index) }
            var key = Substring(Self.plain(nodes[index].key))
            while let slash = key.lastIndex(of: "/") {
                key = key[..<slash]
                above.insert(String(key))
            }
        }
    }

    private mutating func add(_ json: JSON, parent: Int?) {
        guard let id = json["id"]?.stringValue else { return }
        let aql = json["aqlPath"]?.stringValue ?? ""
        let max = Int(json["max"].flatMap { if case .number(let text) = $0 { text } else { nil } } ?? "1") ?? 1
        let rmType = json["rmType"]?.stringValue ?? ""
        let key = Self.key(AQLStep.parse(aql))
        let terminology = json["inputs"]?.arrayValue?.first { $0["suffix"]?.stringValue == "code" }?["terminology"]?.stringValue
        var node = Node(
            id: id, rmType: rmType, nodeID: json["nodeId"]?.stringValue, repeats: max != 1 && parent != nil, key: key, parent: parent,
            terminology: terminology == "local" || terminology == "openehr" ? nil : terminology)
        let unitInput = json["inputs"]?.arrayValue?.first { $0["suffix"]?.stringValue == "unit" }
        node.units = unitInput?["list"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? []
        nodes.append(node)
        let index = nodes.count - 1
        // By its path with the names the template gives (the first node of each); without them, every
        // node of that path in template order, for a path that names some steps or none.
        for form in Self.forms(key) where byKey[form] == nil { byKey[form] = index }
        for form in Self.forms(Self.plain(key)) { byPlainKey[form, default: []].append(index) }
        for child in json["children"]?.arrayValue ?? [] { add(child, parent: index) }
    }

    /// `/content[openEHR-EHR-OBSERVATION.x.v1]/data[at0001]`: attributes and
    /// node ids, and a name predicate as `[at0008|name]` (its `/`, `]` and `%`
    /// percent-encoded): the name tells apart the nodes of one node id the
    /// template names (`items[at0008 and name/value='Aufnahmegrund - Dritte Stelle']`).
    public static func key(_ steps: [AQLStep]) -> String {
        steps.map { step in
            guard let nodeID = step.nodeID else { return "/\(step.attribute)" }
            guard let name = step.name else { return "/\(step.attribute)[\(nodeID)]" }
            let encoded = name.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2F").replacingOccurrences(of: "]", with: "%5D")
            return "/\(step.attribute)[\(nodeID)|\(encoded)]"
        }.joined()
    }

    /// A key without its names (`[at0008|x]` → `[at0008]`).
    static func plain(_ key: String) -> String {
        let bar = UInt8(ascii: "|"), close = UInt8(ascii: "]")
        guard key.utf8.contains(bar) else { return key }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.utf8.count)
        var skipping = false
        for byte in key.utf8 {
            if byte == bar { skipping = true } else if byte == close { skipping = false }
            if !skipping { bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The node at a key: the one of that name; else, where the key names
    /// some steps only (a named section, then steps without names), the
    /// first node with those names; else the first of its node ids.
    public func node(at key: String) -> Int? {
        if let node = byKey[key] { return node }
        let candidates = byPlainKey[Self.plain(key)]
        guard key.utf8.contains(UInt8(ascii: "|")) else { return candidates?.first }
        return candidates?.first { Self.hasNames(of: key, nodes[$0].key) }
    }

    /// A key and, for an ELEMENT with one value type (one node whose path ends
    /// in `/value`), the ELEMENT's path, which mapping paths name.
    static func forms(_ key: String) -> [String] {
        key.hasSuffix("/value") ? [key, String(key.dropLast(6))] : [key]
    }

    /// Whether `nodeKey` gives each step the name `key` gives it (both keys the same without names).
    static func hasNames(of key: String, _ nodeKey: String) -> Bool {
        let wanted = key.split(separator: "/"), steps = nodeKey.split(separator: "/")
        return steps.count >= wanted.count && zip(wanted, steps).allSatisfy { $0 == $1 || !$0.contains("|") }
    }

    /// The node at `segments`, or, for a structure the web template leaves
    /// out (an ITEM_TREE, a HISTORY), the nearest node above it when some
    /// node lies below; nil when the template has nothing there.
    func target(_ segments: [String]) -> (node: Int, exact: Bool)? {
        let key = segments.joined()
        if let node = node(at: key) { return (node, true) }
        guard above.contains(Self.plain(key)) else { return nil }
        for length in stride(from: segments.count - 1, through: 0, by: -1) {
            if let node = node(at: segments[..<length].joined()) { return (node, false) }
        }
        return nil
    }

    /// The node an event without a node of its own is folded into (the one
    /// event of a history that cannot repeat: the web template gives its
    /// time to the node above, `WebTemplate`), for the event's path; nil for any other path.
    public func foldedEvent(_ segments: [String]) -> Int? {
        let key = segments.joined()
        guard segments.last?.hasPrefix("/events[") == true, node(at: key) == nil, let time = node(at: key + "/time"),
            nodes[time].rmType == "DV_DATE_TIME"
        else { return nil }
        return nodes[time].parent
    }

    /// The node of an archetype root: the first whose node id is the archetype id.
    public func archetypeRoot(_ archetypeID: String) -> Int? {
        nodes.indices.first { nodes[$0].nodeID == archetypeID }
    }

    /// The nodes whose parent is `index` (an ELEMENT's value alternatives among them).
    public func children(_ index: Int) -> [Int] { childIndexes[index] }

    /// The nodes from the root to `index`, root first.
    public func chain(_ index: Int) -> [Int] {
        var chain = [index]
        while let parent = nodes[chain[chain.count - 1]].parent { chain.append(parent) }
        return chain.reversed()
    }
}
