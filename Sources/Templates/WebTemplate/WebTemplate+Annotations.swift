import JSONCore

/// What a template says about nodes by their archetype path — its own
/// annotations (OPERATIONAL_TEMPLATE.annotations: FHIR mappings, sources, help
/// texts) and its default values — found for the web template nodes those
/// paths name.
extension WebTemplate {
    /// Values keyed by their archetype path without names
    /// (`content[id]/items[at0002]`); names compared where both paths give one.
    struct PathIndex<Value> {
        var byKey: [String: [(names: [String?], value: Value)]] = [:]

        init(_ entries: [(path: String, value: Value)]) {
            for entry in entries {
                var steps = AQLStep.parse(entry.path)
                // The root step (`[openEHR-EHR-COMPOSITION.x.v1]`) has no attribute: it is the tree itself.
                if let first = steps.first, first.attribute.isEmpty { steps.removeFirst() }
                byKey[WebTemplate.key(steps), default: []].append((steps.map(\.name), entry.value))
            }
        }

        /// The values of every entry whose path names the node at `path`, in template order.
        func values(at path: String) -> [Value] {
            guard !byKey.isEmpty else { return [] }
            let steps = AQLStep.parse(path)
            guard let candidates = byKey[WebTemplate.key(steps)] else { return [] }
            return candidates.filter { candidate in
                zip(candidate.names, steps).allSatisfy { name, step in name == nil || step.name == nil || name == step.name }
            }.map(\.value)
        }
    }

    typealias AnnotationIndex = PathIndex<[TemplateAnnotation.Item]>

    static func key(_ steps: [AQLStep]) -> String {
        steps.map { "\($0.attribute)[\($0.nodeID ?? "")]" }.joined(separator: "/")
    }

    /// The node's annotations with the template's items for `path` added.
    func annotate(_ object: inout JSONObject, path: String) {
        let items = annotationIndex.values(at: path).flatMap { $0 }
        guard !items.isEmpty else { return }
        var annotations = object["annotations"]?.objectValue ?? JSONObject()
        for item in items { annotations[item.key] = .string(item.value) }
        object["annotations"] = .object(annotations)
    }
}
