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

    /// FLAT's names of RM attributes where they differ from the RM's.
    static let aliases = [
        "work_flow_id": "workflow_id", "link": "links", "participation": "participations", "other_participation": "other_participations",
        "mapping": "mappings", "originating_system_item_id": "originating_system_item_ids", "feeder_system_item_id": "feeder_system_item_ids",
        "identifier": "identifiers",
    ]
    /// Attributes of the performer that FLAT gives to the participation (`_participation:0/relationship|code`).
    static let performerAttributes: Set<String> = ["relationship", "identifiers", "external_ref"]

    func set(steps: [(step: AQLStep, index: Int)], rmType: String, extra: [String], suffix: String?, value: JSON) throws(FlatComposition.KeyError) {
        var current = root
        var extra = extra
        var suffix = suffix
        var (baseType, generic) = RMTypeName.split(rmType)
        let isLeaf = Self.leafTypes.contains(rmType) || baseType == "DV_INTERVAL"
        if isLeaf, let last = steps.last?.step {
            for (step, index) in steps.dropLast() { current = child(of: current, step, index: index) }
            if baseType == "DV_INTERVAL", generic == nil {
                // The interval's bound type from the template: `DV_INTERVAL<DV_COUNT>`, or the type its limits are constrained to.
                let interval = current.constraint?.attribute(last.attribute)?.children.first { $0.rmTypeName.hasPrefix("DV_INTERVAL") }
                generic = interval.flatMap { $0.genericParameter ?? RMTypeName.split($0.rmTypeName).1 }
                    ?? (interval?.attribute("lower") ?? interval?.attribute("upper"))?.children.first.map { RMTypeName.split($0.rmTypeName).0 }
            }
            if extra.isEmpty {
                if suffix == "raw" { return try writeRaw(value, into: current, attribute: last.attribute) }
                if baseType == "DV_INTERVAL" {
                    // `interval|lower_included`: the interval's own flags.
                    var object = current.object[last.attribute]?.objectValue ?? JSONObject([("_type", "DV_INTERVAL")])
                    try writePath(&object, type: "DV_INTERVAL", path: [], suffix: suffix, value: value, bound: generic ?? "DV_QUANTITY")
                    current.object[last.attribute] = .object(object)
                    return
                }
                try write(into: current, attribute: last.attribute, type: rmType, suffix: suffix, value: value)
                return
            }
            // `dv_quantity/_normal_range/lower|magnitude`: inside the value. `dv_quantity/_null_flavour`: the element's.
            let first = Self.aliases[Self.name(extra[0])] ?? Self.name(extra[0])
            let leafType = current.object[last.attribute]?["_type"]?.stringValue ?? concreteLeaf(baseType)
            if schema[leafType]?.attributes[first] != nil || schema[current.type]?.attributes[first] == nil {
                var object = current.object[last.attribute]?.objectValue ?? JSONObject([("_type", .string(leafType))])
                try writePath(&object, type: leafType, path: extra[...], suffix: suffix, value: value, bound: generic ?? leafType)
                current.object[last.attribute] = .object(object)
                return
            }
        } else {
            for (step, index) in steps { current = child(of: current, step, index: index) }
            if extra.isEmpty {
                // `any_event:0|sample_count`, `event:0|raw`: the node's own attribute, or the whole node raw.
                guard let name = suffix else { throw FlatComposition.KeyError(message: "a \(rmType) node holds no value; name one of its elements") }
                if name == "raw" { return try writeRaw(value, into: current, attribute: nil) }
                if name == "_type" {
                    // `any_event:0|_type`: an interval event.
                    let type = RMBuilder.text(value)
                    guard schema[type] != nil else { throw FlatComposition.KeyError(message: "'\(type)' is not an RM type") }
                    current.type = type
                    current.object["_type"] = .string(type)
                    return
                }
                extra = [name]
                suffix = nil
            }
        }
        // `_uid`, `_end_time`, `_work_flow_id|id`: an RM attribute the web template does not show.
        // An event's width or math function makes it an interval event.
        if current.type == "POINT_EVENT", extra.first == "width" || extra.first == "math_function" {
            current.type = "INTERVAL_EVENT"
            current.object["_type"] = "INTERVAL_EVENT"
        }
        let aliases = Self.aliases
        // An attribute of interval events given to an event: it is one.
        if current.type == "POINT_EVENT", let first = extra.first, schema["INTERVAL_EVENT"]?.attributes[Self.name(first)] != nil,
            schema["POINT_EVENT"]?.attributes[Self.name(first)] == nil
        {
            current.type = "INTERVAL_EVENT"
            current.object["_type"] = "INTERVAL_EVENT"
        }
        if extra.first == "raw" || (extra.count == 1 && suffix == "raw") {
            return try writeRaw(value, into: current, attribute: extra.first == "raw" ? nil : aliases[extra[0]] ?? extra[0])
        }
        // A chain of RM attributes (`context/start_time`): nodes down to the
        // last one where the template constrains them, plain RM values below.
        while extra.count > 1 {
            let name = aliases[extra[0]] ?? extra[0]
            guard schema[current.type]?.attributes[name] != nil else {
                if let attribute = schema[current.type]?.attributes[aliases[Self.name(extra[0])] ?? Self.name(extra[0])], attribute.primitive == nil {
                    break
                }
                throw FlatComposition.KeyError(message: "\(current.type) has no attribute '\(name)'")
            }
            guard current.constraint?.attribute(name) != nil || name == "context" else { break }
            current = child(of: current, AQLStep(attribute: name), index: 0)
            extra.removeFirst()
        }
        if extra.count > 1 {
            // `_feeder_audit/originating_system_audit|system_id`, `_link:0/target`: inside an RM value of the node.
            let name = aliases[Self.name(extra[0])] ?? Self.name(extra[0])
            guard let attribute = schema[current.type]?.attributes[name] else {
                throw FlatComposition.KeyError(message: "\(current.type) has no attribute '\(name)'")
            }
            let type = Self.preferredType(attribute)
            var holder = JSONObject([("_type", .string(current.type))])
            holder[name] = current.object[name]
            try writePath(&holder, type: current.type, path: extra[...], suffix: suffix, value: value, bound: type)
            current.object[name] = holder[name]
            return
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
        if extra.count == 1, let attribute = schema[current.type]?.attributes[extra[0]], attribute.isList {
            // Without an index (STRUCTURED writes none for one item): the first.
            let listIndex = listIndex ?? 0
            let itemType = Self.preferredType(attribute)
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
        let type = attribute.primitive != nil ? "STRING" : Self.preferredType(attribute)
        if type == "STRING", let primitive = attribute.primitive, primitive != .string, suffix == nil {
            try Self.writeAttribute(extra[0], of: current.type, into: &current.object, value: value)
            return
        }
        try write(into: current, attribute: extra[0], type: type, suffix: suffix, value: value)
    }

    /// The type a FLAT client means for an RM attribute: an identified
    /// party, a plain object id, a coded text.
    static func preferredType(_ attribute: RMSchema.Attribute) -> String {
        // A text that is given a code becomes a coded text as it is written.
        let preferred = ["PARTY_IDENTIFIED", "HIER_OBJECT_ID", "OBJECT_REF", "DV_TEXT", "DV_CODED_TEXT"].first { attribute.types.contains($0) }
        return preferred ?? attribute.types.first { !$0.hasPrefix("DV_INTERVAL") } ?? attribute.types.first ?? "STRING"
    }

    /// A path segment's name without its `_` and `:index`.
    static func name(_ segment: String) -> String {
        let utf8 = segment.utf8
        let underscored = utf8.first == UInt8(ascii: "_")
        guard let colon = utf8.lastIndex(of: UInt8(ascii: ":")) else {
            return underscored ? String(segment[utf8.index(after: utf8.startIndex)...]) : segment
        }
        var name = segment[...]
        if underscored { name = segment[utf8.index(after: utf8.startIndex)...] }
        if colon >= name.startIndex, Int(segment[utf8.index(after: colon)...]) != nil { name = name[..<colon] }
        return String(name)
    }

    /// A segment's `:index` (0 without one), refused outside 0..<10000.
    static func index(_ segment: String) throws(FlatComposition.KeyError) -> Int {
        guard let colon = segment.utf8.lastIndex(of: UInt8(ascii: ":")), let index = Int(segment[segment.utf8.index(after: colon)...]) else { return 0 }
        guard (0..<FlatComposition.maximumIndex).contains(index) else {
            throw FlatComposition.KeyError(message: "the index \(index) of '\(segment)' is not from 0 to \(FlatComposition.maximumIndex - 1)")
        }
        return index
    }

    /// Writes below an RM value along RM attribute names
    /// (`normal_range/lower|magnitude`, `mapping:0/target|code`); an
    /// interval's bounds are of the `bound` type (the value it ranges).
    func writePath(
        _ object: inout JSONObject, type: String, path: ArraySlice<String>, suffix: String?, value: JSON, bound: String
    ) throws(FlatComposition.KeyError) {
        guard let segment = path.first else {
            let holder = Node(type: type, constraint: nil, terms: [:])
            holder.object["value"] = .object(object)
            if suffix == "raw" {
                try writeRaw(value, into: holder, attribute: "value")
            } else {
                try write(into: holder, attribute: "value", type: type, suffix: suffix, value: value)
            }
            object = holder.object["value"]?.objectValue ?? object
            return
        }
        let name = Self.aliases[Self.name(segment)] ?? Self.name(segment)
        if type == "PARTICIPATION", Self.performerAttributes.contains(name) {
            var performer = object["performer"]?.objectValue ?? JSONObject([("_type", "PARTY_IDENTIFIED")])
            if name == "relationship" { performer["_type"] = "PARTY_RELATED" }
            try writePath(
                &performer, type: performer["_type"]?.stringValue ?? "PARTY_IDENTIFIED", path: path, suffix: suffix, value: value, bound: bound)
            object["performer"] = .object(performer)
            return
        }
        if type == "REFERENCE_RANGE", Self.intervalAttributes.contains(name) {
            var range = object["range"]?.objectValue ?? JSONObject([("_type", "DV_INTERVAL")])
            try writePath(&range, type: "DV_INTERVAL", path: path, suffix: suffix, value: value, bound: bound)
            object["range"] = .object(range)
            return
        }
        // `original_content_multimedia`: FLAT names the type of a feeder audit's original content.
        if type == "FEEDER_AUDIT", name.hasPrefix("original_content_") {
            var content = object["original_content"]?.objectValue
                ?? JSONObject([("_type", .string("DV_" + name.dropFirst("original_content_".count).uppercased()))])
            try writePath(&content, type: content["_type"]?.stringValue ?? "DV_MULTIMEDIA", path: path.dropFirst(), suffix: suffix, value: value, bound: bound)
            object["original_content"] = .object(content)
            return
        }
        var type = type
        if schema[type]?.attributes[name] == nil,
            let subtype = RMTypeHierarchy.concreteTypes(of: type).sorted().first(where: { schema[$0]?.attributes[name] != nil })
        {
            // An attribute of a subtype makes the object one (a health care facility with a relationship is a PARTY_RELATED).
            type = subtype
            object["_type"] = .string(subtype)
        }
        guard let attribute = schema[type]?.attributes[name] else {
            throw FlatComposition.KeyError(message: "\(type) has no attribute '\(name)'")
        }
        if let primitive = attribute.primitive, primitive != .object {
            guard path.count == 1, suffix == nil else {
                throw FlatComposition.KeyError(message: "\(type).\(name) is a \(primitive.rawValue): it takes no further path or suffix")
            }
            try Self.writeAttribute(name, of: type, into: &object, value: value)
            return
        }
        let childType = attribute.primitive == .object ? bound : Self.preferredType(attribute)
        let index = try Self.index(segment)
        if attribute.isList {
            var items = object[name]?.arrayValue ?? []
            while items.count <= index { items.append(.object(JSONObject([("_type", .string(childType))]))) }
            var item = items[index].objectValue ?? JSONObject([("_type", .string(childType))])
            try writePath(&item, type: item["_type"]?.stringValue ?? childType, path: path.dropFirst(), suffix: suffix, value: value, bound: bound)
            items[index] = .object(item)
            object[name] = .array(items)
        } else {
            var child = object[name]?.objectValue ?? JSONObject([("_type", .string(childType))])
            let nextBound = ["normal_range", "other_reference_ranges"].contains(name) ? type : bound
            try writePath(&child, type: child["_type"]?.stringValue ?? childType, path: path.dropFirst(), suffix: suffix, value: value, bound: nextBound)
            object[name] = .object(child)
        }
    }

    /// `|raw`: a canonical JSON fragment given whole (as an object or as
    /// its text), `@class` read as `_type` as older clients write it.
    func writeRaw(_ value: JSON, into node: Node, attribute: String?) throws(FlatComposition.KeyError) {
        var raw = value
        if case .string(let text) = value {
            guard let parsed = try? JSONParser.parse(Array(text.utf8)) else {
                throw FlatComposition.KeyError(message: "a raw value is a canonical JSON object, and this text is not JSON")
            }
            raw = parsed
        }
        guard case .object(let object) = Self.renamingClass(raw) else {
            throw FlatComposition.KeyError(message: "a raw value is a canonical JSON object, found \(raw.kindName)")
        }
        if let attribute {
            node.object[attribute] = .object(object)
        } else {
            for member in object.members { node.object[member.key] = member.value }
            if let type = object["_type"]?.stringValue { node.type = type }
        }
    }

    static func renamingClass(_ json: JSON) -> JSON {
        switch json {
        case .object(let object):
            .object(JSONObject(object.members.map { ($0.key == "@class" ? "_type" : $0.key, renamingClass($0.value)) }))
        case .array(let items): .array(items.map(renamingClass))
        default: json
        }
    }

    /// The child object at a step, made when first named.
    func child(of parent: Node, _ step: AQLStep, index: Int) -> Node {
        let key = step.key
        if let found = parent.children.first(where: { $0.attribute == step.attribute && $0.key == key && $0.index == index }) {
            return found.node
        }
        // A single-valued attribute holds one object, however its steps name it (`data` and `data[at0001]`).
        if schema[parent.type]?.attributes[step.attribute]?.isList == false,
            let position = parent.children.firstIndex(where: { $0.attribute == step.attribute && ($0.key == "|" || key == "|") })
        {
            if key != "|", parent.children[position].node.constraint == nil {
                // Named now: the template's constraint applies from here on.
                let node = child(of: Node(type: parent.type, constraint: parent.constraint, terms: parent.terms), step, index: index)
                let existing = parent.children[position].node
                for member in existing.object.members where node.object[member.key] == nil { node.object[member.key] = member.value }
                node.children = existing.children
                parent.children[position] = (step.attribute, key, index, node)
                return node
            }
            return parent.children[position].node
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
        var type = RMTypeName.split(resolved?.rmTypeName ?? "").0
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
                // A name the template codes is the coded text of that name.
                let coded = step.name.flatMap { name in WebTemplate.codedNames(resolved, terms: terms).first { $0.text == name } }
                if let coded {
                    node.object["name"] = [
                        "_type": "DV_CODED_TEXT", "value": .string(coded.text),
                        "defining_code": ["_type": "CODE_PHRASE", "terminology_id": ["_type": "TERMINOLOGY_ID", "value": "local"], "code_string": .string(coded.code)],
                    ]
                } else {
                    node.object["name"] = step.name.map { ["_type": "DV_TEXT", "value": .string($0)] } ?? examples.name(resolved, terms: terms, depth: 0)
                }
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
