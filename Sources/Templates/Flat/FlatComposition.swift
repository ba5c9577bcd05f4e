import Foundation
import JSONCore
import OpenEHR

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
public struct FlatComposition {
    let template: OperationalTemplate
    let webTemplate: JSON
    /// Web template nodes by id path (`report/blood_pressure/any_event`).
    var nodes: [String: JSON] = [:]
    /// Each node's AQL path parsed once: (path text, its steps).
    var parsedPaths: [String: (aql: String, steps: [AQLStep])] = [:]

    public init(template: OperationalTemplate) {
        self.template = template
        webTemplate = WebTemplate.generate(template)
        if let tree = webTemplate["tree"] { index(tree, prefix: "") }
    }

    mutating func index(_ node: JSON, prefix: String) {
        guard let id = node["id"]?.stringValue else { return }
        let path = prefix.isEmpty ? id : prefix + "/" + id
        nodes[path] = node
        if let aql = node["aqlPath"]?.stringValue { parsedPaths[path] = (aql, AQLStep.parse(aql)) }
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
        let type = ExampleComposition.split(type).0
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
        var path = key
        var suffix: String?
        if let bar = key.lastIndex(of: "|") {
            suffix = String(key[key.index(after: bar)...])
            path = String(key[..<bar])
        }
        var idPath: [String] = []
        var indexes: [String: Int] = [:]
        var extra: [String] = []
        for segment in path.split(separator: "/") {
            if segment.hasPrefix("_") || !extra.isEmpty {
                extra.append(String(segment.hasPrefix("_") ? segment.dropFirst() : segment))
                continue
            }
            // `observation/history_origin`: the origin of the observation's history.
            if segment == "history_origin", nodes[idPath.joined(separator: "/")]?["rmType"]?.stringValue == "OBSERVATION" {
                extra.append(contentsOf: ["data", "origin"])
                continue
            }
            // `context/start_time` where the web template has no context: RM attributes from here on.
            let candidate = (idPath + [String(segment.split(separator: ":").first ?? segment)]).joined(separator: "/")
            if nodes[candidate] == nil, let parentType = nodes[idPath.joined(separator: "/")]?["rmType"]?.stringValue,
                Self.attributes(of: parentType).contains(String(segment))
            {
                extra.append(String(segment))
                continue
            }
            var id = String(segment)
            var index = 0
            if let colon = segment.lastIndex(of: ":"), let number = Int(segment[segment.index(after: colon)...]) {
                guard (0..<Self.maximumIndex).contains(number) else { throw KeyError(message: "the index \(number) of '\(segment)' is not from 0 to \(Self.maximumIndex - 1)") }
                id = String(segment[..<colon])
                index = number
            }
            idPath.append(id)
            indexes[idPath.joined(separator: "/")] = index
        }
        var nodePath = idPath.joined(separator: "/")
        // `any_event:0/width`: an RM attribute of the node above that the web template does not list.
        if nodes[nodePath] == nil, extra.isEmpty, idPath.count > 1, let last = idPath.last,
            let parent = nodes[idPath.dropLast().joined(separator: "/")], let parentType = parent["rmType"]?.stringValue,
            Self.attributes(of: parentType).contains(last)
        {
            idPath.removeLast()
            extra = [last]
            nodePath = idPath.joined(separator: "/")
        }
        // `interval/lower|magnitude`: the web template's limit nodes are written inside the interval.
        if nodes[nodePath] != nil, idPath.count > 1, let last = idPath.last, last == "lower" || last == "upper",
            nodes[idPath.dropLast().joined(separator: "/")]?["rmType"]?.stringValue?.hasPrefix("DV_INTERVAL") == true
        {
            idPath.removeLast()
            extra.insert(last, at: 0)
            nodePath = idPath.joined(separator: "/")
        }
        guard let node = nodes[nodePath] else {
            throw KeyError(message: "no node of the web template of '\(template.templateID)' is named '\(nodePath)'")
        }
        // The instance path: each node's own AQL steps, at the index its key gives.
        var steps: [(step: AQLStep, index: Int)] = []
        var covered = ""
        var coveredSteps = 0
        var prefix = ""
        for depth in 0..<idPath.count {
            prefix = depth == 0 ? idPath[0] : prefix + "/" + idPath[depth]
            guard let (aql, parsed) = parsedPaths[prefix] else { continue }
            if !aql.hasPrefix(covered) {
                // Not below the node above (a context node hoisted up): its path from the root.
                steps = []
                covered = ""
                coveredSteps = 0
            }
            // The node's own steps: its path's steps below the node above's.
            let own = parsed.dropFirst(coveredSteps)
            for (offset, step) in own.enumerated() {
                steps.append((step, offset == own.count - 1 ? (indexes[prefix] ?? 0) : 0))
            }
            covered = aql
            coveredSteps = parsed.count
        }
        try builder.set(steps: steps, rmType: node["rmType"]?.stringValue ?? "", extra: extra, suffix: suffix, value: value)
    }
}

/// One step of an AQL path: an attribute, optionally a node id and a name.
struct AQLStep: Equatable {
    var attribute: String
    var nodeID: String?
    var name: String?

    /// `/items[at0004]/value`, `/content[openEHR-… and name/value='x']`.
    static func parse(_ path: String) -> [AQLStep] {
        var steps: [AQLStep] = []
        var rest = Substring(path)
        while !rest.isEmpty {
            if rest.first == "/" { rest = rest.dropFirst() }
            let attributeEnd = rest.firstIndex { $0 == "[" || $0 == "/" } ?? rest.endIndex
            var step = AQLStep(attribute: String(rest[..<attributeEnd]))
            rest = rest[attributeEnd...]
            if rest.first == "[" {
                // The predicate ends at the `]` outside quotes (`\'` is a quote inside a name).
                var inQuote = false
                var escaped = false
                var end: Substring.Index?
                for index in rest.indices {
                    if escaped { escaped = false; continue }
                    if rest[index] == "\\" && inQuote { escaped = true; continue }
                    if rest[index] == "'" { inQuote.toggle() }
                    if rest[index] == "]" && !inQuote { end = index; break }
                }
                guard let end else { break }
                let predicate = rest[rest.index(after: rest.startIndex)..<end]
                if let and = predicate.range(of: " and name/value='") {
                    step.nodeID = String(predicate[..<and.lowerBound])
                    step.name = String(predicate[and.upperBound...].dropLast()).replacingOccurrences(of: "\\'", with: "'")
                        .replacingOccurrences(of: "\\\\", with: "\\")
                } else {
                    step.nodeID = String(predicate)
                }
                rest = rest[rest.index(after: end)...]
            }
            if !step.attribute.isEmpty { steps.append(step) }
        }
        return steps
    }
}
