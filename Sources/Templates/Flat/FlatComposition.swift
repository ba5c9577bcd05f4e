import Foundation
import JSONCore
import OpenEHR
import Synchronization

/// Why a FLAT composition could not be read: each key refused and why.
public struct FlatError: Error, Sendable {
    public var problems: [DecodingProblem]
}

/// FLAT (simSDT) compositions: `{"tree-id/node:0/leaf|suffix": value}` keys
/// named after the web template's node ids, turned into a canonical
/// composition (ITS-REST 1.0.3 §Simplified formats). Each key is resolved
/// through the web template to its AQL path; the objects on the way are
/// made from the template's constraints (type, node id, name); `ctx/` keys
/// give the context defaults; a key no node of the web template names is
/// refused with its name.
public struct FlatComposition: Sendable {
    let template: OperationalTemplate
    /// The web template the keys are read through (`WebTemplate.generate`).
    public let webTemplate: JSON
    /// Web template nodes by id path (`report/blood_pressure/any_event`).
    var nodes: [String: JSON] = [:]
    /// Each node's AQL path parsed once: (path text, its steps).
    var parsedPaths: [String: (aql: String, steps: [AQLStep])] = [:]
    /// The same steps by AQL path, for writing FLAT from a composition.
    var stepsByAQL: [String: [AQLStep]] = ["": []]

    public init(template: OperationalTemplate) {
        self.template = template
        webTemplate = WebTemplate.generate(template)
        if let tree = webTemplate["tree"] { index(tree, prefix: "") }
    }

    mutating func index(_ node: JSON, prefix: String) {
        guard let id = node["id"]?.stringValue else { return }
        let path = prefix.isEmpty ? id : prefix + "/" + id
        nodes[path] = node
        if let aql = node["aqlPath"]?.stringValue {
            let steps = stepsByAQL[aql] ?? AQLStep.parse(aql)
            parsedPaths[path] = (aql, steps)
            stepsByAQL[aql] = steps
        }
        for child in node["children"]?.arrayValue ?? [] { index(child, prefix: path) }
    }

    /// A canonical composition from FLAT keys.
    public func composition(_ flat: JSONObject) throws(FlatError) -> JSON {
        var builder = RMBuilder(template: template)
        var problems: [DecodingProblem] = []
        var context = FlatContext()
        for member in flat.members {
            if member.key.hasPrefix("ctx/") {
                do {
                    try context.read(String(member.key.dropFirst(4)), member.value)
                } catch {
                    problems.append(DecodingProblem(path: member.key, message: error.message))
                }
                continue
            }
            do {
                try set(member.key, member.value, in: &builder)
            } catch {
                problems.append(DecodingProblem(path: member.key, message: error.message))
            }
        }
        guard problems.isEmpty else { throw FlatError(problems: problems) }
        return builder.finish(context: context)
    }

    struct KeyError: Error { var message: String }

    /// Occurrences a FLAT key may number (a larger index is refused, not allocated).
    static let maximumIndex = 10_000

    /// The attributes of an RM type and of its concrete subtypes (an EVENT's include INTERVAL_EVENT's width).
    static func attributes(of type: String) -> Set<String> {
        if let known = attributeCache.withLock({ $0[type] }) { return known }
        let names = computeAttributes(of: type)
        attributeCache.withLock { $0[type] = names }
        return names
    }

    static let attributeCache = Mutex<[String: Set<String>]>([:])

    static func computeAttributes(of type: String) -> Set<String> {
        let type = RMTypeName.split(type).0
        var names: Set<String> = []
        for concrete in [type] + RMTypeHierarchy.concreteTypes(of: type).sorted() {
            names.formUnion(RMSchema.rm110[concrete]?.attributes.keys ?? [:].keys)
        }
        return names
    }

    /// Segments a FLAT key may have (web template paths are far shorter; a
    /// longer key would nest objects without end).
    static let maximumSegments = 64

    /// One key: `id:index/…/id|suffix` or `…/_rm_attribute|suffix`.
    func set(_ key: String, _ value: JSON, in builder: inout RMBuilder) throws(KeyError) {
        guard key.utf8.count(where: { $0 == UInt8(ascii: "/") }) < Self.maximumSegments else {
            throw KeyError(message: "has more than \(Self.maximumSegments) segments")
        }
        // Keys are split on their ASCII separators through the UTF-8 view (no
        // grapheme breaking; the indexes are the string's own).
        var path = key[...]
        var suffix: String?
        if let bar = key.utf8.lastIndex(of: UInt8(ascii: "|")) {
            suffix = String(key[key.utf8.index(after: bar)...])
            path = key[..<bar]
        }
        // The node ids of the key, each with the id path up to it (the key of
        // `nodes`) and the index it gives; built incrementally, one hash per segment.
        var prefixes: [String] = []
        var indexes: [Int] = []
        var extra: [String] = []
        func type(of prefix: String?) -> String? { prefix.flatMap { nodes[$0]?["rmType"]?.stringValue } }
        for bytes in path.utf8.split(separator: UInt8(ascii: "/")) {
            let segment = path[bytes.startIndex..<bytes.endIndex]
            let underscored = bytes.first == UInt8(ascii: "_")
            if underscored || !extra.isEmpty {
                extra.append(String(underscored ? segment[segment.utf8.index(after: segment.startIndex)...] : segment))
                continue
            }
            let parent = prefixes.last
            // `observation/history_origin`: the origin of the observation's history.
            if segment == "history_origin", type(of: parent) == "OBSERVATION" {
                extra.append(contentsOf: ["data", "origin"])
                continue
            }
            var id = segment
            var index = 0
            if let colon = segment.utf8.lastIndex(of: UInt8(ascii: ":")), let number = Int(segment[segment.utf8.index(after: colon)...]) {
                guard (0..<Self.maximumIndex).contains(number) else { throw KeyError(message: "the index \(number) of '\(segment)' is not from 0 to \(Self.maximumIndex - 1)") }
                id = segment[..<colon]
                index = number
            }
            let prefix = parent.map { $0 + "/" + id } ?? String(id)
            // `context/start_time` where the web template has no context: RM attributes from here on.
            if nodes[prefix] == nil, let parentType = type(of: parent), Self.attributes(of: parentType).contains(String(segment)) {
                extra.append(String(segment))
                continue
            }
            prefixes.append(prefix)
            indexes.append(index)
        }
        var nodePath = prefixes.last ?? ""
        // `any_event:0/width`: an RM attribute of the node above that the web template does not list.
        if nodes[nodePath] == nil, extra.isEmpty, prefixes.count > 1, let parentType = type(of: prefixes[prefixes.count - 2]),
            case let last = String(nodePath[nodePath.index(after: nodePath.lastIndex(of: "/")!)...]), Self.attributes(of: parentType).contains(last)
        {
            prefixes.removeLast()
            indexes.removeLast()
            extra = [last]
            nodePath = prefixes.last ?? ""
        }
        // `interval/lower|magnitude`: the web template's limit nodes are written inside the interval.
        if nodes[nodePath] != nil, prefixes.count > 1, nodePath.hasSuffix("/lower") || nodePath.hasSuffix("/upper"),
            type(of: prefixes[prefixes.count - 2])?.hasPrefix("DV_INTERVAL") == true
        {
            extra.insert(String(nodePath.suffix(5)), at: 0)
            prefixes.removeLast()
            indexes.removeLast()
            nodePath = prefixes.last ?? ""
        }
        guard let node = nodes[nodePath] else {
            throw KeyError(message: "no node of the web template of '\(template.templateID)' is named '\(nodePath)'")
        }
        // The instance path: each node's own AQL steps, at the index its key gives.
        var steps: [(step: AQLStep, index: Int)] = []
        var covered = ""
        var coveredSteps = 0
        for (depth, prefix) in prefixes.enumerated() {
            guard let (aql, parsed) = parsedPaths[prefix] else { continue }
            if !aql.hasPrefix(covered) {
                // Not below the node above (a context node hoisted up): its path from the root.
                steps = []
                covered = ""
                coveredSteps = 0
            }
            // The node's own steps: its path's steps below the node above's. The key's index numbers
            // the node's last archetyped step (an ELEMENT the web template merges with its one value,
            // `items[at0044]/value`, repeats as the ELEMENT), else its last step.
            let own = Array(parsed.dropFirst(coveredSteps))
            let numbered = own.lastIndex { $0.nodeID != nil } ?? own.count - 1
            for (offset, step) in own.enumerated() {
                steps.append((step, offset == numbered ? indexes[depth] : 0))
            }
            covered = aql
            coveredSteps = parsed.count
        }
        try builder.set(steps: steps, rmType: node["rmType"]?.stringValue ?? "", extra: extra, suffix: suffix, value: value)
    }
}
