import FHIR
import JSONCore
import OpenEHR

extension FlatWriter {
    /// Runs methods for the FHIR → openEHR direction.
    mutating func run(_ methods: [MappingMethod], scope: FHIRScope, position: OpenEHRPosition) {
        for method in methods where method.direction != .openEHRToFHIR {
            // A method with no FHIR path that sets constants (KDS's main diagnosis role, under a
            // condition on the resource) writes them once for the element it is under, as openFHIR does.
            guard let fhirPath = method.fhir ?? (method.openEHR != nil && !method.manual.isEmpty ? Self.parentPath : nil) else { continue }
            let target = method.openEHR.flatMap { segments($0, position) }
            let node = target.flatMap { template.target($0) }
            if let target, node == nil {
                if !writeAttribute(method, fhirPath, target: target, scope: scope, position: position) {
                    notes.append("\(method.name): the template has no node at \(target.joined())")
                }
                continue
            }
            for element in scope.elements(fhirPath, conditions: method.fhirConditions) {
                var bindings = position.bindings
                let path = node.map { flatPath($0.node, &bindings) }
                if let node, node.exact, let path { write(method, element: element, resource: scope.resource, node: node.node, path: path) }
                if let node, !node.exact, let target, let path, template.foldedEvent(target) == node.node {
                    // FLAT names a folded event's width only where the template makes it an INTERVAL_EVENT.
                    writeEvent(method, element: element, at: path, interval: template.node(at: target.joined() + "/width") != nil)
                }
                let inner = OpenEHRPosition(archetype: position.archetype, parent: target ?? position.parent, bindings: bindings)
                let childScope = FHIRScope(resource: scope.resource, parent: element)
                run(method.followedBy, scope: childScope, position: inner)
                if let slot = method.slotArchetype { fill(slot, element: element, position: inner, method: method.name) }
                if let reference = method.reference { follow(reference, element: element, position: inner, method: method.name) }
            }
        }
    }

    /// `$fhirRoot`: the element the parent method is at.
    static let parentPath: FHIRMappingPath? = try? FHIRMappingPath.parse("$fhirRoot").get()

    /// A method's own value: its manual assignments when it has some, else
    /// the element converted to the node's data value (`type: NONE`, a
    /// structure, a slot or a reference writes nothing itself; children may
    /// add to what a method writes).
    mutating func write(_ method: MappingMethod, element: FHIRCursor, resource: FHIRCursor, node: Int, path: String) {
        let rmType = template.nodes[node].rmType
        if !method.manual.isEmpty {
            // A manual mapping's conditions: `$fhirRoot` is the method's element, `$resource` the
            // resource; a root that is the method's own path (`coding` of a method at `coding`) is the element.
            let scope = FHIRScope(resource: resource, parent: element)
            func holds(_ condition: FHIRCondition) -> Bool {
                guard let own = method.fhir, FHIRScope.sameStart(condition.targetRoot.start, own.start), condition.targetRoot.steps == own.steps,
                    !own.steps.isEmpty
                else { return scope.holds(condition) }
                return FHIRScope.test(condition, on: element)
            }
            for manual in method.manual where manual.direction != .openEHRToFHIR && manual.fhirConditions.allSatisfy(holds) {
                var leaves: [(suffix: String, value: String)] = []
                for assignment in manual.openEHR {
                    guard let suffix = FlatValues.suffix(assignment.path, rmType: rmType) else {
                        notes.append("\(method.name): manual path \(assignment.path) is not an attribute of \(rmType)")
                        continue
                    }
                    leaves.append((suffix, assignment.value))
                }
                // A code of the template's own terms reads as its term in the
                // composition's language (the FLAT reading gives it): a text
                // the mapping writes in one language is left out.
                if leaves.contains(where: { $0.suffix == "|terminology" && $0.value == "local" }) {
                    leaves.removeAll { $0.suffix == "|value" }
                }
                for leaf in leaves { flat[path + leaf.suffix] = .string(leaf.value) }
            }
            return
        }
        guard method.dataType != DataMappingType.none, method.slotArchetype == nil, method.reference == nil else { return }
        // FHIRconnect §NULL_FLAVOUR: a value absent for a reason is the ELEMENT's null flavour.
        if let reason = StructuredValues.absentReason(element.node), rmType == "ELEMENT" || template.nodes[node].key.hasSuffix("/value") {
            StructuredValues.writeNullFlavour(reason, element: path, into: &flat)
            return
        }
        var target = (node: node, path: path)
        if rmType == "ELEMENT" {
            // An element of several value types: the alternative that suits the FHIR value.
            let nodes = template.nodes
            let alternatives = template.children(node).filter { nodes[$0].rmType.hasPrefix("DV_") }
            let preferred = FlatValues.preferredTypes(element.node.type)
            guard let chosen = preferred.lazy.compactMap({ type in alternatives.first { nodes[$0].rmType == type } }).first else {
                if !alternatives.isEmpty { notes.append("\(method.name): no value type of \(path) takes a FHIR \(element.node.type)") }
                return
            }
            target = (chosen, path + "/" + template.nodes[chosen].id)
        }
        let targetType = template.nodes[target.node].rmType
        if FlatValues.eventTypes.contains(targetType) {
            // A method that goes on below the event (its data) maps a structure, not the event's time.
            guard method.followedBy.isEmpty, FlatValues.timeTypes.contains(element.node.type) else { return }
            if !FlatValues.writeEvent(element.node, at: target.path, into: &flat) {
                notes.append("\(method.name): a FHIR \(element.node.type) is no event time (\(target.path))")
            }
            return
        }
        guard targetType.hasPrefix("DV_") || targetType.hasPrefix("PARTY_") else { return }
        if !FlatValues.write(element.node, as: targetType, at: target.path, terminology: template.nodes[target.node].terminology, into: &flat) {
            notes.append("\(method.name): a FHIR \(element.node.type) does not convert to \(targetType) (\(target.path))")
        }
        if targetType == "DV_QUANTITY" { allowedUnit(at: target.path, units: template.nodes[target.node].units) }
    }

    /// A UCUM unit with annotations (`{beats}/min`) where the template allows
    /// the same unit without them (`/min`): the annotations carry no meaning
    /// (UCUM §2.7, curly braces), so the template's form is written.
    mutating func allowedUnit(at path: String, units: [String]) {
        guard !units.isEmpty, let unit = flat[path + "|unit"]?.stringValue, !units.contains(unit), unit.contains("{") else { return }
        let plain = unit.replacing(/\{[^}]*\}/, with: "")
        if units.contains(plain) { flat[path + "|unit"] = .string(plain) }
    }

    /// A FHIR time onto an event folded into the node above it (FHIRconnect
    /// §EVENT): its time, and for an `interval`, width and math function, under that node's path, as FLAT writes them there.
    mutating func writeEvent(_ method: MappingMethod, element: FHIRCursor, at path: String, interval: Bool) {
        guard method.followedBy.isEmpty, method.dataType != DataMappingType.none, FlatValues.timeTypes.contains(element.node.type) else { return }
        if !FlatValues.writeEvent(element.node, at: path, interval: interval, into: &flat) {
            notes.append("\(method.name): a FHIR \(element.node.type) is no event time (\(path))")
        }
    }

    /// An RM attribute the web template has no node for (`context/end_time`,
    /// also written `_end_time`): written under its parent node's FLAT path
    /// as FLAT names such attributes (`_end_time`), as the FHIR value's own
    /// type. False when the path is no attribute of a node.
    mutating func writeAttribute(
        _ method: MappingMethod, _ fhirPath: FHIRMappingPath, target: [String], scope: FHIRScope, position: OpenEHRPosition
    ) -> Bool {
        guard let last = target.last, !last.contains("["), let parent = template.node(at: target.dropLast().joined()) else { return false }
        let name = String(last.drop { $0 == "/" || $0 == "_" })
        let owner = template.nodes[parent].rmType
        // An attribute the owner's RM class (or a subtype) does not have (KDS's `$composition/provider`: ENTRY has it).
        guard ([owner] + RMTypeHierarchy.concreteTypes(of: owner)).contains(where: { RMSchema.rm110.classes[$0]?.attributes[name] != nil }) else {
            notes.append("\(method.name): \(owner) has no attribute \(name)")
            return true
        }
        let attribute = "/_" + name
        for element in scope.elements(fhirPath, conditions: method.fhirConditions) {
            var bindings = position.bindings
            let path = flatPath(parent, &bindings) + attribute
            guard let type = FlatValues.preferredTypes(element.node.type).first,
                FlatValues.write(element.node, as: type, at: path, into: &flat)
            else {
                notes.append("\(method.name): a FHIR \(element.node.type) does not convert to the attribute \(attribute.dropFirst(2))")
                continue
            }
        }
        return true
    }

    /// A slot: the model mapping of that archetype, run on the element with its archetype at the slot.
    mutating func fill(_ slot: String, element: FHIRCursor, position: OpenEHRPosition, method: String) {
        guard let model = context.model(for: slot) else {
            notes.append("\(method): no model mapping for slot \(slot)")
            return
        }
        _ = apply(model, resource: element, at: position.parent, bindings: position.bindings)
    }

    /// A reference: its methods run on the resource it names, when the input holds it.
    /// The element is the resource itself (a bundle entry's) or a Reference to one.
    mutating func follow(_ reference: ReferenceMapping, element: FHIRCursor, position: OpenEHRPosition, method: String) {
        let resource: JSON
        if element.node.value?["resourceType"] != nil, let inline = element.node.value {
            resource = inline
        } else {
            guard let text = element.node.value?["reference"]?.stringValue, let found = element.references[text] else {
                notes.append("\(method): the reference is not to a resource in the input")
                if let text = element.node.value?["reference"]?.stringValue { unresolved.append(text) }
                return
            }
            resource = found
        }
        // The reference maps resources of its type only: others are not its to map.
        guard resource["resourceType"]?.stringValue == reference.resourceType else { return }
        if let text = element.node.value?["reference"]?.stringValue { followed.append(text) }
        let cursor = FHIRCursor(resource: resource, references: element.references)
        run(reference.methods, scope: FHIRScope(resource: cursor, parent: cursor), position: position)
    }
}
