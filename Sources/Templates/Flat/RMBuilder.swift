import Foundation
import JSONCore
import OpenEHR

/// Builds a canonical RM tree from paths: objects are made along each
/// path from the template's constraints (type, node id, name) and found
/// again by attribute, node id, name and index; leaves are filled suffix by
/// suffix (`|magnitude`, `|unit`).
struct RMBuilder {
    final class Node {
        var type: String
        let constraint: CObject?
        /// The terms of the archetype the node belongs to.
        let terms: [String: ArchetypeTerm]
        var object = JSONObject()
        /// DV_DURATION parts given one by one (`|year`, `|month`).
        var durationParts: [String: [String: String]] = [:]
        /// Child objects per attribute, in the order they were made.
        var children: [(attribute: String, key: String, index: Int, node: Node)] = []

        init(type: String, constraint: CObject?, terms: [String: ArchetypeTerm]) {
            self.type = type
            self.constraint = constraint
            self.terms = terms
        }
    }

    let template: OperationalTemplate
    let root: Node
    let schema = RMSchema.rm110

    init(template: OperationalTemplate) {
        self.template = template
        root = Node(type: "COMPOSITION", constraint: template.definition, terms: template.definition.terms)
        let examples = ExampleComposition(template: template, time: "")
        root.object["name"] = examples.name(template.definition, terms: template.definition.terms, depth: 0)
        root.object["archetype_node_id"] = .string(template.rootArchetypeID)
        root.object["archetype_details"] = [
            "archetype_id": ["value": .string(template.rootArchetypeID)], "template_id": ["value": .string(template.templateID)],
            "rm_version": "1.1.0",
        ]
    }

    static let leafTypes: Set<String> = [
        "DV_TEXT", "DV_CODED_TEXT", "DV_QUANTITY", "DV_COUNT", "DV_BOOLEAN", "DV_DATE_TIME", "DV_DATE", "DV_TIME", "DV_DURATION",
        "DV_ORDINAL", "DV_PROPORTION", "DV_IDENTIFIER", "DV_URI", "DV_EHR_URI", "DV_MULTIMEDIA", "DV_PARSABLE", "DV_STATE", "CODE_PHRASE",
        "PARTY_PROXY", "PARTY_SELF", "PARTY_IDENTIFIED", "STRING", "LOCATABLE_REF", "HIER_OBJECT_ID", "OBJECT_REF",
    ]

    func set(steps: [(step: AQLStep, index: Int)], rmType: String, extra: [String], suffix: String?, value: JSON) throws(FlatComposition.KeyError) {
        var current = root
        let leaf = extra.isEmpty && Self.leafTypes.contains(rmType)
        let walk = leaf ? steps.dropLast() : steps[...]
        for (step, index) in walk { current = child(of: current, step, index: index) }
        if extra.isEmpty {
            guard leaf, let last = steps.last?.step else { throw FlatComposition.KeyError(message: "a \(rmType) node holds no value; name one of its elements") }
            try write(into: current, attribute: last.attribute, type: rmType, suffix: suffix, value: value)
            return
        }
        // `_uid`, `_end_time`, `_work_flow_id|id`: an RM attribute the web template does not show.
        // An event's width or math function makes it an interval event.
        if current.type == "POINT_EVENT", extra.first == "width" || extra.first == "math_function" {
            current.type = "INTERVAL_EVENT"
            current.object["_type"] = "INTERVAL_EVENT"
        }
        // FLAT's names of RM attributes where they differ from the RM's.
        let aliases = ["work_flow_id": "workflow_id", "link": "links", "participation": "participations", "other_participation": "other_participations"]
        var extra = extra
        // A chain of RM attributes (`context/start_time`): objects down to the last one.
        while extra.count > 1 {
            let name = aliases[extra[0]] ?? extra[0]
            guard schema[current.type]?.attributes[name] != nil else {
                throw FlatComposition.KeyError(message: "\(current.type) has no attribute '\(name)'")
            }
            current = child(of: current, AQLStep(attribute: name), index: 0)
            extra.removeFirst()
        }
        var listIndex: Int?
        if let first = extra.first, let colon = first.lastIndex(of: ":"), let index = Int(first[first.index(after: colon)...]) {
            guard (0..<FlatComposition.maximumIndex).contains(index) else {
                throw FlatComposition.KeyError(message: "the index \(index) of '\(first)' is not from 0 to \(FlatComposition.maximumIndex - 1)")
            }
            extra[0] = String(first[..<colon])
            listIndex = index
        }
        extra = extra.map { aliases[$0] ?? $0 }
        if let listIndex, extra.count == 1, let attribute = schema[current.type]?.attributes[extra[0]], attribute.isList,
            let itemType = attribute.types.first
        {
            // `_link:0|meaning`, `_participation:1|function`: an item of an RM list.
            var items = current.object[extra[0]]?.arrayValue ?? []
            while items.count <= listIndex { items.append(.object(JSONObject([("_type", .string(itemType))]))) }
            let holder = Node(type: current.type, constraint: nil, terms: current.terms)
            holder.object["item"] = items[listIndex]
            try write(into: holder, attribute: "item", type: itemType, suffix: suffix, value: value)
            items[listIndex] = holder.object["item"] ?? items[listIndex]
            current.object[extra[0]] = .array(items)
            return
        }
        guard extra.count == 1, let attribute = schema[current.type]?.attributes[extra[0]] else {
            throw FlatComposition.KeyError(message: "\(current.type) has no attribute '\(extra.joined(separator: "/"))'")
        }
        // The type a FLAT client means: an identified party, a plain object id.
        let preferred = ["PARTY_IDENTIFIED", "HIER_OBJECT_ID", "OBJECT_REF", "DV_CODED_TEXT", "DV_TEXT"].first { attribute.types.contains($0) }
        let type = attribute.primitive != nil ? "STRING" : (preferred ?? attribute.types.first { !$0.hasPrefix("DV_INTERVAL") } ?? "STRING")
        try write(into: current, attribute: extra[0], type: type, suffix: suffix, value: value)
    }

    /// The child object at a step, made when first named.
    func child(of parent: Node, _ step: AQLStep, index: Int) -> Node {
        let key = (step.nodeID ?? "") + "|" + (step.name ?? "")
        if let found = parent.children.first(where: { $0.attribute == step.attribute && $0.key == key && $0.index == index }) {
            return found.node
        }
        let constraint = parent.constraint?.attribute(step.attribute)?.children.first { child in
            guard step.nodeID == nil || child.nodeID == step.nodeID || child.archetypeID == step.nodeID else { return false }
            guard let name = step.name else { return true }
            return WebTemplate.fixedName(child) == nil || WebTemplate.fixedName(child) == name
        }
        let resolved = constraint.flatMap { c -> CObject? in
            if case .internalReference(let target) = c.kind { return template.definition.internalReference(target) ?? c }
            return c
        }
        var type = ExampleComposition.split(resolved?.rmTypeName ?? "").0
        if type.isEmpty || schema[type] == nil {
            type = schema[parent.type]?.attributes[step.attribute]?.types.first.map { ExampleComposition(template: template, time: "").concrete($0) } ?? type
            if type == "EVENT" { type = "POINT_EVENT" }
            if resolved?.rmTypeName == "EVENT" { type = "POINT_EVENT" }
        }
        let terms = (resolved?.terms.isEmpty ?? true) ? parent.terms : resolved!.terms
        let node = Node(type: type, constraint: resolved, terms: terms)
        node.object["_type"] = .string(type)
        if schema[type]?.attributes["archetype_node_id"] != nil {
            let examples = ExampleComposition(template: template, time: "")
            if let resolved {
                node.object["name"] = step.name.map { ["_type": "DV_TEXT", "value": .string($0)] } ?? examples.name(resolved, terms: terms, depth: 0)
                node.object["archetype_node_id"] = .string(resolved.archetypeID ?? resolved.nodeID)
                if let archetypeID = resolved.archetypeID {
                    node.object["archetype_details"] = ["archetype_id": ["value": .string(archetypeID)], "rm_version": "1.1.0"]
                }
            } else {
                node.object["name"] = ["_type": "DV_TEXT", "value": .string(step.name ?? step.attribute)]
                node.object["archetype_node_id"] = .string(step.nodeID ?? "at0000")
            }
        }
        parent.children.append((step.attribute, key, index, node))
        return node
    }
}
