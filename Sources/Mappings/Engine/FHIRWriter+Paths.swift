import FHIR
import JSONCore
import Templates

extension FHIRWriter {
    /// The element a FHIR path names below its start, made on the way: a
    /// list gets a new item (one per occurrence mapped, FHIRconnect
    /// §Recurrence) unless `memo` already made it for this group of writes;
    /// a single element is reused. With a value, the last step holds it,
    /// converted to the element's type (for a choice, the first of the
    /// value's FHIR types the element allows, `preferred` first). Returns
    /// the element and the elements above it; nil when the path is not one
    /// of the resource's or the value does not convert.
    func locate(
        _ path: FHIRMappingPath, scope: BuildScope, value: OpenEHRValue?, preferred: [String], memo: inout [String: FHIRElement],
        keepExisting: Bool = false
    ) -> (element: FHIRElement, chain: [FHIRElement])? {
        guard let (start, startChain) = scope.start(path.start) else { return nil }
        var current = start
        var chain = Array(startChain.dropLast())
        let steps = path.steps
        if steps.isEmpty, let value {
            // The value at the element itself: a primitive's value, or a complex element's members.
            if current.isPrimitive {
                guard let primitive = FHIRValues.primitive(value, as: current.type) else { return nil }
                if !(keepExisting && current.value != nil) { current.value = primitive }
            } else {
                guard let made = FHIRValues.element(value, as: current.type) else { return nil }
                current.merge(made)
            }
        }
        var index = 0
        var memoKey = ""
        while index < steps.count {
            guard case .element(let name) = steps[index] else {
                // A cast after an element is read with it; `resolve()` has nothing to make.
                if case .resolve = steps[index] { return nil }
                index += 1
                continue
            }
            guard let definition = JSONMemberKind.element(name, of: current.type) else { return nil }
            var cast: String?
            if index + 1 < steps.count, case .cast(let type) = steps[index + 1] {
                cast = definition.types.first { $0.lowercased() == type.lowercased() } ?? type
            }
            index += cast == nil ? 1 : 2
            memoKey += "." + name
            let last = index >= steps.count
            if last, let value {
                return place(value, in: current, definition, cast: cast, preferred: preferred, keepExisting: keepExisting).map { ($0, chain + [current]) }
            }
            // A resource's place (`Bundle.entry.resource`) holds the resource type preferred.
            let resource = definition.types == ["Resource"] ? preferred.first(where: JSONMemberKind.isResource) : nil
            let type = cast ?? resource ?? preferred.first(where: definition.types.contains) ?? JSONMemberKind.contentType(definition)
            let key = JSONMemberKind.key(definition, type: type)
            let child: FHIRElement
            if definition.isArray {
                if let made = memo[memoKey] {
                    child = made
                } else {
                    child = FHIRElement(type: type)
                    current.add(child, key: key, isArray: true)
                    memo[memoKey] = child
                }
            } else if let existing = current.items(key).first, existing.type == type, !(last && !keepExisting) {
                // A single element on the way is shared; a method's own is made
                // anew (the later method overwrites, FHIRconnect §Recurrence).
                child = existing
            } else {
                child = FHIRElement(type: type)
                current.add(child, key: key, isArray: false)
            }
            chain.append(current)
            current = child
        }
        return (current, chain)
    }

    /// A value in the element `definition` of `parent`, as the first of its
    /// FHIR types the element takes (a constant's text as any primitive).
    /// A coded text made a coding of a concept brings its term mappings as
    /// further codings and its text as the concept's (the concept as the user
    /// chose it, R4 CodeableConcept.text; it stands over a constant written
    /// there). With `keepExisting` (a condition's criterion) a single element
    /// already written is kept.
    func place(
        _ value: OpenEHRValue, in parent: FHIRElement, _ definition: ElementDefinition, cast: String?, preferred: [String], keepExisting: Bool
    ) -> FHIRElement? {
        var candidates = cast.map { [$0] } ?? (preferred + FHIRValues.preferredTypes(of: value)).filter(definition.types.contains)
        if value.rmType == "DV_TEXT" { candidates += definition.types.filter(JSONMemberKind.isPrimitive) }
        if candidates.isEmpty, definition.types == ["Extension"], let valueDefinition = JSONMemberKind.element("value", of: "Extension") {
            // A value written as an extension is the extension's value[x] (its url comes from the mapping).
            let made = FHIRElement(type: "Extension")
            guard place(value, in: made, valueDefinition, cast: nil, preferred: preferred, keepExisting: false) != nil else { return nil }
            parent.add(made, key: definition.name, isArray: definition.isArray)
            return made
        }
        for type in candidates {
            let key = JSONMemberKind.key(definition, type: type)
            if keepExisting, !definition.isArray, let existing = parent.items(key).first, existing.json() != nil { return existing }
            guard let made = FHIRValues.element(value, as: type) else { continue }
            parent.add(made, key: key, isArray: definition.isArray)
            if type == "Coding", parent.type == "CodeableConcept", value.rmType == "DV_CODED_TEXT" {
                for mapping in value.mappings { if let other = FHIRValues.coding(mapping) { parent.add(other, key: key, isArray: true) } }
                // The first coded text placed in the concept gives its text, not a later coding's.
                parent.codedText = parent.codedText ?? value.text("|value")
            }
            return made
        }
        return nil
    }

    /// Makes an element the method wrote satisfy the method's `one of`
    /// conditions on it (FHIRconnect §Conditions: to FHIR, "one of" puts the
    /// value in the target): the first criterion at the condition's
    /// attribute, unless some criterion is there already.
    mutating func satisfy(_ conditions: [FHIRCondition], of method: MappingMethod, element: FHIRElement) {
        guard let path = method.fhir else { return }
        for condition in conditions where condition.operator == .oneOf && Self.same(condition.targetRoot, path) {
            guard let criterion = condition.criteria.first.map(ConditionOperator.criterion), let attribute = condition.attributePaths.first else { continue }
            if let json = element.json() {
                let node = FHIRNode(value: json, type: element.type, element: nil, name: "", location: "", tracksLocation: false)
                if FHIRScope.test(condition, on: FHIRCursor(node: node, ancestors: [], references: [:])) { continue }
            }
            var memo: [String: FHIRElement] = [:]
            let constant = OpenEHRValue(rmType: "DV_TEXT", leaves: ["": .string(criterion)])
            let relative = FHIRMappingPath(start: .parent, steps: attribute.steps, text: attribute.text)
            if locate(relative, scope: BuildScope(resource: element, chain: [element]), value: constant, preferred: [], memo: &memo, keepExisting: true) == nil {
                notes.append("\(method.name): the condition's \(attribute) cannot be written")
            }
        }
    }

    static func same(_ a: FHIRMappingPath, _ b: FHIRMappingPath) -> Bool {
        a.steps == b.steps && FHIRScope.sameStart(a.start, b.start)
    }

    /// An openEHR condition on its own: some occurrence at its root passes
    /// (`one of`, `not empty`, `type`), or all do (`not of`, `empty`).
    func holds(_ condition: OpenEHRCondition, position: ReadPosition) -> Bool {
        guard let root = segments(condition.targetRoot, position) else { return false }
        let occurrences = template.target(root).map { reader.instances(of: $0.node, from: position.anchor, bound: position.bound) } ?? []
        return condition.operator.holds(over: occurrences) { test(condition, on: $0) }
    }

    /// The condition on one occurrence: the values its target attributes reach.
    func test(_ condition: OpenEHRCondition, on occurrence: FlatInstance) -> Bool {
        // `type` of an attribute path: the data value type of the element it reaches (the alternative
        // the composition holds where the ELEMENT has several), not the occurrence's own.
        if condition.operator == .type, !condition.attributePaths.isEmpty {
            let types = condition.attributePaths.flatMap { valueTypes($0.steps, below: occurrence) }
            return types.contains { type in condition.operator.test(values: [], reached: true, type: type, criteria: condition.criteria) }
        }
        var values: Set<String> = []
        var reached = condition.attributePaths.isEmpty
        for attribute in condition.attributePaths {
            for found in attributeValues(attribute.steps, below: occurrence) {
                reached = true
                if let text = found { values.insert(text) }
            }
        }
        return condition.operator.test(values: values, reached: reached, type: template.nodes[occurrence.node].rmType, criteria: condition.criteria)
    }

    /// The data value types of the nodes an attribute path of archetype steps reaches below an occurrence.
    func valueTypes(_ steps: [AQLStep], below occurrence: FlatInstance) -> [String] {
        let segments = FlatWriter.split(template.nodes[occurrence.node].key) + FlatWriter.split(MappingTemplate.key(steps))
        guard let target = template.target(segments), target.exact else { return [] }
        return reader.instances(of: target.node, from: occurrence).compactMap { value(at: $0)?.rmType }
    }

    /// What an attribute path reaches below an occurrence: the nodes its
    /// archetype steps name, then an RM attribute of their data value
    /// (`defining_code/code_string`); each value's text (nil where a node is
    /// present without one).
    func attributeValues(_ steps: [AQLStep], below occurrence: FlatInstance) -> [String?] {
        let base = FlatWriter.split(template.nodes[occurrence.node].key)
        for split in stride(from: steps.count, through: 0, by: -1) {
            let nodeSteps = Array(steps[..<split])
            let segments = base + FlatWriter.split(MappingTemplate.key(nodeSteps))
            guard let target = template.target(segments), target.exact || split == 0 else { continue }
            let rest = steps[split...].map(\.attribute).joined(separator: "/")
            let occurrences = split == 0 ? [occurrence] : reader.instances(of: target.node, from: occurrence)
            if !rest.isEmpty, !rest.contains("/"), FlatValues.suffix(rest, rmType: "") == nil || rest.hasPrefix("_") {
                // An RM attribute FLAT writes as `_name` (`context/_end_time`): present or not.
                return occurrences.flatMap { reader.attributes(rest, of: $0.node, from: $0, bound: [:]) }.map { value(at: $0)?.text("") }
            }
            return occurrences.map { found in
                guard let value = value(at: found) else { return nil }
                guard let suffix = FlatValues.suffix(rest, rmType: value.rmType) else { return nil }
                return (value[suffix] ?? (suffix == "" ? value["|code"] : nil))?.scalarText
            }
        }
        return []
    }
}
