import FHIR
import JSONCore
import OpenEHR

extension FHIRWriter {
    /// Runs methods for the openEHR → FHIR direction.
    mutating func run(_ methods: [MappingMethod], scope: BuildScope, position: ReadPosition) {
        for method in methods where method.direction != .fhirToOpenEHR {
            guard let occurrences = occurrences(method, position: position) else { continue }
            let target = method.openEHR.flatMap { segments($0, position) } ?? position.parent
            for occurrence in occurrences {
                let inner = position.at(occurrence, parent: target)
                guard let element = write(method, position: inner, scope: scope) else { continue }
                let below = scope.below(element.element, chain: element.chain)
                run(method.followedBy, scope: below, position: inner)
                if let slot = method.slotArchetype { fill(slot, scope: below, position: inner, method: method.name) }
                if let reference = method.reference { follow(reference, element: element.element, scope: scope, position: inner) }
                satisfy(method.fhirConditions, of: method, element: element.element)
            }
        }
    }

    /// The occurrences a method maps: those its openEHR path reaches that its
    /// openEHR conditions let through; the parent's for a method without an
    /// openEHR path or of a bare `$reference`; nil when there are none to map.
    mutating func occurrences(_ method: MappingMethod, position: ReadPosition) -> [FlatInstance]? {
        var found = [position.anchor]
        if let path = method.openEHR, let segments = segments(path, position) {
            if let target = template.target(segments) {
                found = reader.instances(of: target.node, from: position.anchor, bound: position.bound)
                if !target.exact, template.foldedEvent(segments) == target.node { found = found.map { var event = $0; event.isEvent = true; return event } }
            } else if let last = segments.last, !last.contains("["), let owner = template.node(at: segments.dropLast().joined()) {
                // An RM attribute the template has no node for (`context/end_time`).
                found = reader.attributes(String(last.dropFirst()), of: owner, from: position.anchor, bound: position.bound)
            } else {
                // `links` and the like: nothing the FLAT composition holds.
                return nil
            }
        }
        for condition in method.openEHRConditions {
            if let root = segments(condition.targetRoot, position), let node = template.target(root)?.node,
                let target = method.openEHR.flatMap({ segments($0, position) }), target.starts(with: root)
            {
                found = found.filter { occurrence in
                    reader.instances(of: node, from: occurrence, bound: position.bound).contains { test(condition, on: $0) }
                }
            } else if !holds(condition, position: position) {
                return nil
            }
        }
        return found.isEmpty ? nil : found
    }

    /// Writes the method's element for one occurrence: its manual values,
    /// else the occurrence's data value converted to the FHIR element, else
    /// (`type: NONE`, a structure, a slot, a reference) the element alone.
    /// Nil when the FHIR path cannot be written (noted).
    mutating func write(_ method: MappingMethod, position: ReadPosition, scope: BuildScope) -> (element: FHIRElement, chain: [FHIRElement])? {
        let occurrence = position.anchor
        guard let path = method.fhir else {
            return (scope.parent, Array(scope.chain.dropLast()))
        }
        // An event is a time only for a method that ends there (one that goes on below maps its data).
        let structure = !method.followedBy.isEmpty && (occurrence.isEvent || FlatValues.eventTypes.contains(template.nodes[occurrence.node].rmType))
        let value = method.dataType == DataMappingType.none || method.slotArchetype != nil || method.reference != nil || !method.manual.isEmpty || structure
            ? nil : self.value(at: occurrence)
        var preferred = method.fhirConditions.filter { $0.operator == .type && Self.same($0.targetRoot, path) }.flatMap(\.criteria)
        // A reference mapping's element is the resource's place, else a Reference to it (`medication[x]` → `medicationReference`).
        if let reference = method.reference { preferred += [reference.resourceType, "Reference"] }
        if value == nil, method.dataType != DataMappingType.none, method.manual.isEmpty, method.slotArchetype == nil, method.reference == nil,
            method.followedBy.isEmpty, method.openEHR != nil
        {
            return nil
        }
        var memo: [String: FHIRElement] = [:]
        guard let written = locate(path, scope: scope, value: value, preferred: preferred, memo: &memo) else {
            notes.append("\(method.name): \(path) cannot be written\(value.map { " from a \($0.rmType)" } ?? "")")
            return nil
        }
        for manual in method.manual where manual.direction != .fhirToOpenEHR {
            // A manual mapping's conditions: `$openehrRoot` is the method's occurrence.
            guard manual.openEHRConditions.allSatisfy({ holds($0, position: position) }) else { continue }
            var group: [String: FHIRElement] = [:]
            for assignment in manual.fhir { assign(assignment, to: written.element, chain: written.chain, memo: &group, method: method.name) }
        }
        if let constant = method.value, written.element.isPrimitive { written.element.value = .string(constant) }
        return written
    }

    /// A manual mapping's constant at its path below the method's element.
    mutating func assign(_ assignment: ManualMapping.Assignment, to element: FHIRElement, chain: [FHIRElement], memo: inout [String: FHIRElement], method: String) {
        let text = assignment.path == "$fhirRoot" || assignment.path.isEmpty ? "$fhirRoot" : assignment.path
        guard case .success(let path) = FHIRMappingPath.parse(text) else {
            notes.append("\(method): manual path \(assignment.path) is not a FHIR path")
            return
        }
        let constant = OpenEHRValue(rmType: "DV_TEXT", leaves: ["": .string(assignment.value)])
        let scope = BuildScope(resource: chain.first ?? element, chain: chain + [element])
        // A constant is written like any value: the later write overwrites (§Recurrence, Overwriting).
        if locate(path, scope: scope, value: constant, preferred: [], memo: &memo) == nil {
            notes.append("\(method): manual path \(assignment.path) cannot be written")
        }
    }

    /// The data value of an occurrence: of its node's type, or for an element
    /// of several types, of the alternative the composition holds.
    func value(at occurrence: FlatInstance) -> OpenEHRValue? {
        if occurrence.isAttribute {
            // An attribute's value: a date-time when it reads as one, else a text.
            guard let text = reader.leaves(occurrence.path)[""]?.stringValue else { return nil }
            guard ISODateTime(text) != nil else { return OpenEHRValue(rmType: "DV_TEXT", leaves: ["": .string(text)]) }
            return OpenEHRValue(rmType: "DV_DATE_TIME", leaves: ["": .string(LocalTime.zoned(text, in: zone) ?? text)])
        }
        var node = occurrence.node
        var path = occurrence.path
        if occurrence.isEvent || FlatValues.eventTypes.contains(template.nodes[node].rmType) { return eventValue(at: path) }
        if template.nodes[node].rmType == "ELEMENT" {
            let values = template.children(node).filter { template.nodes[$0].rmType.hasPrefix("DV_") }
            guard let chosen = values.first(where: { reader.has(path + "/" + template.nodes[$0].id) }) else {
                return values.first.flatMap { absentValue(of: template.nodes[$0].rmType, element: path) }
            }
            node = chosen
            path += "/" + template.nodes[chosen].id
        }
        let leaves = valueLeaves(path, rmType: template.nodes[node].rmType)
        // A coded text where the template says text (DV_CODED_TEXT is a DV_TEXT).
        let rmType = template.nodes[node].rmType == "DV_TEXT" && leaves["|code"] != nil ? "DV_CODED_TEXT" : template.nodes[node].rmType
        guard rmType.hasPrefix("DV_") || rmType.hasPrefix("PARTY_") || rmType == "CODE_PHRASE" else { return nil }
        // An ELEMENT merged with its one value (`…/value`): its null flavour under the same path.
        guard !leaves.isEmpty else { return template.nodes[node].key.hasSuffix("/value") ? absentValue(of: rmType, element: path) : nil }
        var value = OpenEHRValue(rmType: rmType, leaves: leaves)
        if rmType == "DV_CODED_TEXT" || rmType == "DV_TEXT" { value.mappings = reader.termMappings(path) }
        if rmType == "DV_DATE_TIME", let text = value.text(""), let zoned = LocalTime.zoned(text, in: zone) {
            value = OpenEHRValue(rmType: rmType, leaves: leaves.merging(["": .string(zoned)]) { $1 })
        }
        return value
    }

    /// The leaves of a value at `path`: an interval's limits under theirs
    /// (`lower|magnitude`), a multimedia's data where FLAT writes it as an attribute (`/_data`).
    func valueLeaves(_ path: String, rmType: String) -> [String: JSON] {
        var leaves = reader.leaves(path)
        if rmType.hasPrefix("DV_INTERVAL<") {
            for limit in ["lower", "upper"] {
                for (suffix, leaf) in reader.leaves(path + "/" + limit) { leaves[limit + suffix] = leaf }
            }
        }
        if rmType == "DV_MULTIMEDIA", leaves["|data"] == nil, let data = reader.leaves(path + "/_data")[""] { leaves["|data"] = data }
        if rmType.hasPrefix("PARTY_") {
            // The party's first identifier, as clients write it (`_identifier:0`) or as Socle's FLAT output names the attribute.
            for list in ["/_identifier:0", "/_identifiers:0"] {
                for (suffix, leaf) in reader.leaves(path + list) where leaves["identifier" + suffix] == nil { leaves["identifier" + suffix] = leaf }
            }
        }
        return leaves
    }

    /// An ELEMENT without a value but with a null flavour (FHIRconnect
    /// §NULL_FLAVOUR): a value of its type that is only the absent reason.
    func absentValue(of rmType: String, element path: String) -> OpenEHRValue? {
        guard let code = reader.leaves(path + "/_null_flavour")["|code"]?.stringValue else { return nil }
        var value = OpenEHRValue(rmType: rmType, leaves: [:])
        value.absentReason = StructuredValues.absentReason(nullFlavour: code, reason: reader.leaves(path + "/_null_reason")[""]?.stringValue)
        return value
    }

    /// An event as a FHIR time (FHIRconnect §EVENT): its time, a
    /// DV_DATE_TIME; with a width, an INTERVAL_EVENT (`FHIRValues`: a Period
    /// from time − width to time, or its time).
    func eventValue(at path: String) -> OpenEHRValue? {
        guard let text = reader.leaves(path + "/time")[""]?.stringValue else { return nil }
        let time = JSON.string(LocalTime.zoned(text, in: zone) ?? text)
        // `width` as a client writes it, `_width` as Socle's FLAT output names the attribute the web template does not list.
        guard let width = reader.leaves(path + "/width")[""] ?? reader.leaves(path + "/_width")[""] else {
            return OpenEHRValue(rmType: "DV_DATE_TIME", leaves: ["": time])
        }
        return OpenEHRValue(rmType: "INTERVAL_EVENT", leaves: ["": time, "|width": width])
    }

    /// A slot: the model mapping of that archetype, run with its archetype at the slot.
    mutating func fill(_ slot: String, scope: BuildScope, position: ReadPosition, method: String) {
        guard let model = context.model(for: slot) else {
            notes.append("\(method): no model mapping for slot \(slot)")
            return
        }
        guard depth < 16 else {
            notes.append("\(model.header.name): slots nest deeper than 16 levels")
            return
        }
        var inner = position
        inner.archetype = position.parent
        guard model.preprocessor.openEHRConditions.allSatisfy({ holds($0, position: inner) }) else { return }
        // A model that slots itself at its own root (`$archetype`) would map the same occurrence again.
        let entry = model.header.name + " " + position.anchor.path
        guard !active.contains(entry) else { return }
        active.insert(entry)
        depth += 1
        // The slot's model maps the element that fills it: its `$resource`.
        let slotScope = BuildScope(resource: scope.parent, chain: [scope.parent], container: scope.container)
        for anchor in splitInstances(model, position: inner) {
            run(model.methods, scope: slotScope, position: inner.at(anchor, parent: inner.parent))
        }
        depth -= 1
        active.remove(entry)
    }

    /// A reference: a resource of its type, contained in the mapped one
    /// (`#1`, `#2`… in the order made), its methods run on it; the element
    /// refers to it. A resource its methods leave empty is not made.
    mutating func follow(_ reference: ReferenceMapping, element: FHIRElement, scope: BuildScope, position: ReadPosition) {
        // A resource's own place (`Bundle.entry.resource`): the resource is made there.
        if element.type == reference.resourceType {
            run(reference.methods, scope: BuildScope(resource: element, chain: [element]), position: position)
            return
        }
        let contained = FHIRElement(type: reference.resourceType)
        run(reference.methods, scope: BuildScope(resource: contained, chain: [contained], container: scope.container), position: position)
        guard contained.json() != nil else { return }
        let id = String(scope.container.items("contained").count + 1)
        contained.add(FHIRElement(type: "id", value: .string(id)), key: "id", isArray: false)
        scope.container.add(contained, key: "contained", isArray: true)
        if element.type == "Reference" {
            element.add(FHIRElement(type: "string", value: .string("#" + id)), key: "reference", isArray: false)
        }
    }
}
