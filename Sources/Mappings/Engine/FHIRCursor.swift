import FHIR
import JSONCore

/// An element of the FHIR input and the elements above it, so that `^` can
/// climb back (FHIRconnect §Path operators).
struct FHIRCursor {
    let node: FHIRNode
    /// Root first; the last is the element's parent.
    let ancestors: [FHIRNode]
    /// The resources a reference may name (`resolve()`): a bundle's entries,
    /// and the contained resources (`#id`) of the resource the element is in.
    let references: [String: JSON]

    /// A resource's root: `references` with the resource's contained
    /// resources by `#id`, as its references name them (R4 §2.3.0.5: a
    /// contained resource is found in the resource that contains it; its
    /// own references to `#id` name its container's, as they do not nest).
    init(resource: JSON, references: [String: JSON]) {
        node = FHIRNode(resource: resource, tracksLocation: false)
        ancestors = []
        var named = references
        for contained in resource["contained"]?.arrayValue ?? [] {
            if let id = contained["id"]?.stringValue { named["#" + id] = contained }
        }
        self.references = named
    }

    init(node: FHIRNode, ancestors: [FHIRNode], references: [String: JSON]) {
        self.node = node
        self.ancestors = ancestors
        self.references = references
    }

    /// The elements a step reaches: children by name (a choice element by its
    /// FHIRPath name, `value` for `valueQuantity`), or those of a type.
    func apply(_ step: FHIRMappingPath.Step) -> [FHIRCursor] {
        switch step {
        case .element(let name):
            return (node.children(named: name) ?? []).map { FHIRCursor(node: $0, ancestors: ancestors + [node], references: references) }
        case .cast(let type):
            return node.type.lowercased() == type.lowercased() ? [self] : []
        case .resolve:
            // FHIRPath resolve(): the resource a Reference names, when the input holds it.
            guard let reference = node.value?["reference"]?.stringValue, let resource = references[reference] else { return [] }
            return [FHIRCursor(resource: resource, references: references)]
        }
    }

    func up(_ levels: Int) -> FHIRCursor? {
        guard levels > 0 else { return self }
        guard levels <= ancestors.count else { return nil }
        let index = ancestors.count - levels
        return FHIRCursor(node: ancestors[index], ancestors: Array(ancestors[..<index]), references: references)
    }

    /// The primitive values below, for a condition: the element's own if it
    /// is a primitive, else nothing.
    var primitiveText: String? { node.value?.scalarText }
}

/// Where a method's FHIR paths start: the resource, the parent method's elements.
struct FHIRScope {
    let resource: FHIRCursor
    let parent: FHIRCursor

    func start(_ start: FHIRMappingPath.Start) -> FHIRCursor? {
        switch start {
        case .resource: resource
        case .parent, .relative: parent
        case .ancestor(let levels): parent.up(levels)
        }
    }

    func evaluate(_ path: FHIRMappingPath) -> [FHIRCursor] {
        guard let start = start(path.start) else { return [] }
        return Self.follow(path.steps[...], from: [start])
    }

    static func follow(_ steps: ArraySlice<FHIRMappingPath.Step>, from cursors: [FHIRCursor]) -> [FHIRCursor] {
        steps.reduce(cursors) { current, step in current.flatMap { $0.apply(step) } }
    }

    /// The elements of `path` that every condition lets through (§Conditions):
    /// a condition whose target root is the path or begins it filters the
    /// elements at its root one by one; any other condition is true or false
    /// for the whole method.
    func elements(_ path: FHIRMappingPath, conditions: [FHIRCondition]) -> [FHIRCursor] {
        guard let start = start(path.start) else { return [] }
        var filters: [(depth: Int, condition: FHIRCondition)] = []
        for condition in conditions {
            let root = condition.targetRoot
            if Self.sameStart(root.start, path.start), root.steps.count <= path.steps.count, Array(path.steps.prefix(root.steps.count)) == root.steps {
                filters.append((root.steps.count, condition))
            } else if !holds(condition) {
                return []
            }
        }
        var cursors = [start]
        for depth in 0...path.steps.count {
            for filter in filters where filter.depth == depth {
                cursors = cursors.filter { Self.test(filter.condition, on: $0) }
            }
            if depth < path.steps.count { cursors = cursors.flatMap { $0.apply(path.steps[depth]) } }
        }
        return cursors
    }

    static func sameStart(_ a: FHIRMappingPath.Start, _ b: FHIRMappingPath.Start) -> Bool {
        switch (a, b) {
        case (.parent, .relative), (.relative, .parent): true
        default: a == b
        }
    }

    /// A condition on its own: some element at its root passes (`one of`,
    /// `not empty`, `type`), or all do (`not of`, `empty`).
    func holds(_ condition: FHIRCondition) -> Bool {
        condition.operator.holds(over: evaluate(condition.targetRoot)) { Self.test(condition, on: $0) }
    }

    /// The condition on one element: the values its target attributes reach.
    static func test(_ condition: FHIRCondition, on cursor: FHIRCursor) -> Bool {
        var reached: [FHIRCursor] = condition.attributePaths.isEmpty ? [cursor] : []
        for path in condition.attributePaths {
            if path.steps == [.element("value")] && cursor.primitiveText != nil {
                reached.append(cursor)
            } else {
                reached += follow(path.steps[...], from: [cursor])
            }
        }
        return condition.operator.test(
            values: Set(reached.compactMap(\.primitiveText)), reached: !reached.isEmpty, type: cursor.node.type, criteria: condition.criteria)
    }
}
