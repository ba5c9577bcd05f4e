import JSONCore

/// The template's own annotations (OPERATIONAL_TEMPLATE.annotations: FHIR
/// mappings, sources, help texts) on the web template nodes their paths name,
/// after the archetype's comment on the node's term.
extension WebTemplate {
    /// One step of a path: attribute, node id (or archetype id), name when the
    /// path gives one.
    struct PathStep: Equatable {
        var attribute: String
        var nodeID: String
        var name: String?
    }

    /// Annotations keyed by their path without names (`content[id]/items[at0002]`).
    struct AnnotationIndex {
        var byKey: [String: [(names: [String?], items: [TemplateAnnotation.Item])]] = [:]

        init(_ annotations: [TemplateAnnotation]) {
            for annotation in annotations {
                var steps = WebTemplate.steps(annotation.path)
                // The root step (`[openEHR-EHR-COMPOSITION.x.v1]`) has no attribute: it is the tree itself.
                if let first = steps.first, first.attribute.isEmpty { steps.removeFirst() }
                byKey[WebTemplate.key(steps), default: []].append((steps.map(\.name), annotation.items))
            }
        }

        /// The items of every annotation whose path names the node at `path`
        /// (names compared where both paths give one), in template order.
        func items(at path: String) -> [TemplateAnnotation.Item] {
            let steps = WebTemplate.steps(path)
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

    static func key(_ steps: [PathStep]) -> String {
        steps.map { "\($0.attribute)[\($0.nodeID)]" }.joined(separator: "/")
    }

    /// The steps of an archetype path (`/items[at0001, 'Name']`) or of an AQL
    /// path (`/items[at0001 and name/value='Name']`); quoted names may hold `/`
    /// and `]`, and `\'` stands for a quote.
    static func steps(_ path: String) -> [PathStep] {
        var steps: [PathStep] = []
        var attribute = ""
        var predicate = ""
        var inPredicate = false
        var inQuote = false
        var escaped = false
        func finish() {
            guard !attribute.isEmpty || !predicate.isEmpty else { return }
            steps.append(step(attribute, predicate))
            attribute = ""
            predicate = ""
        }
        for character in path {
            if inPredicate {
                if escaped {
                    escaped = false
                } else if inQuote && character == "\\" {
                    escaped = true
                } else if character == "'" {
                    inQuote.toggle()
                } else if character == "]" && !inQuote {
                    inPredicate = false
                    continue
                }
                predicate.append(character)
            } else if character == "[" {
                inPredicate = true
            } else if character == "/" {
                finish()
            } else {
                attribute.append(character)
            }
        }
        finish()
        return steps
    }

    /// `at0001`, `at0001, 'Name'` or `at0001 and name/value='Name'`.
    static func step(_ attribute: String, _ predicate: String) -> PathStep {
        let end = predicate.firstIndex { $0 == "," || $0 == " " } ?? predicate.endIndex
        let nodeID = String(predicate[..<end])
        var name: String?
        if let open = predicate.firstIndex(of: "'") {
            var literal = ""
            var escaped = false
            for character in predicate[predicate.index(after: open)...] {
                if escaped {
                    literal.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "'" {
                    break
                } else {
                    literal.append(character)
                }
            }
            name = literal
        }
        return PathStep(attribute: attribute, nodeID: nodeID, name: name)
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
