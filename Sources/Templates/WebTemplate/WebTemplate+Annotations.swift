import JSONCore

/// The template's own annotations (OPERATIONAL_TEMPLATE.annotations: FHIR
/// mappings, sources, help texts) on the web template nodes their paths name,
/// after the archetype's comment on the node's term.
extension WebTemplate {
    /// Annotations keyed by their path without names (`content[id]/items[at0002]`).
    struct AnnotationIndex {
        var byKey: [String: [(names: [String?], items: [TemplateAnnotation.Item])]] = [:]

        init(_ annotations: [TemplateAnnotation]) {
            for annotation in annotations {
                var steps = AQLStep.parse(annotation.path)
                // The root step (`[openEHR-EHR-COMPOSITION.x.v1]`) has no attribute: it is the tree itself.
                if let first = steps.first, first.attribute.isEmpty { steps.removeFirst() }
                byKey[WebTemplate.key(steps), default: []].append((steps.map(\.name), annotation.items))
            }
        }

        /// The items of every annotation whose path names the node at `path`
        /// (names compared where both paths give one), in template order.
        func items(at path: String) -> [TemplateAnnotation.Item] {
            guard !byKey.isEmpty else { return [] }
            let steps = AQLStep.parse(path)
            guard let candidates = byKey[WebTemplate.key(steps)] else { return [] }
            var items: [TemplateAnnotation.Item] = []
            for candidate in candidates {
                let agrees = zip(candidate.names, steps).allSatisfy { name, step in
                    name == nil || step.name == nil || name == step.name
                }
                if agrees { items += candidate.items }
            }
            return items
        }
    }

    static func key(_ steps: [AQLStep]) -> String {
        steps.map { "\($0.attribute)[\($0.nodeID ?? "")]" }.joined(separator: "/")
    }

    /// The node's annotations with the template's items for `path` added.
    func annotate(_ object: inout JSONObject, path: String) {
        let items = annotationIndex.items(at: path)
        guard !items.isEmpty else { return }
        var annotations = object["annotations"]?.objectValue ?? JSONObject()
        for item in items { annotations[item.key] = .string(item.value) }
        object["annotations"] = .object(annotations)
    }
}
