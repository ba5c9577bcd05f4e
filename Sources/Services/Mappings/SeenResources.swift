import JSONCore

/// A composition's resources on their way out of the view
/// (`MappedCompositions.resources(of:)`, docs/architecture.md §Mapped reads):
/// numbered from the composition's object id, the contained resources of the
/// Patient compartment lifted out as resources of their own (a report's
/// results), the originals a FHIR write kept read over the resources they
/// became, and every reference between them following their ids.
struct SeenResources {
    struct Item {
        var resource: JSON
        /// By resource type, the elements the mapping fills (`MappedCompositions.coveredElements`).
        var covered: [String: Set<String>]
        var id = ""
        var placed = false
        /// For a resource lifted out of another's `contained`: that resource's index and its local id.
        var liftedFrom: (holder: Int, local: String)?
        var type: String? { resource["resourceType"]?.stringValue }
    }

    private(set) var items: [Item] = []

    mutating func add(_ resource: JSON, covered: [String: Set<String>]) {
        items.append(Item(resource: resource, covered: covered))
    }

    /// Ids `{objectID}-1`, `-2`, … in the order the mappings give the
    /// resources, then, numbered on, the resources lifted out of them: a
    /// contained resource that is about the patient (its type has a
    /// `subject` or `patient` that may name the Patient) exists on its own
    /// (R4 §2.3.0.5: contained resources are those without independent
    /// existence), so it is a resource of the composition, found by search;
    /// others (a Medication) stay contained. The numbers of the mappings'
    /// own resources do not depend on how many results a version has.
    mutating func number(_ objectID: String) {
        for index in items.indices { items[index].id = "\(objectID)-\(index + 1)" }
        var lifted: [Item] = []
        for index in items.indices {
            guard case .object(var object) = items[index].resource, let contained = object["contained"]?.arrayValue else { continue }
            var kept: [JSON] = []
            var renamed: [String: String] = [:]
            for resource in contained {
                guard let type = resource["resourceType"]?.stringValue, MappedCompositions.patientElement(of: type) != nil,
                    let local = resource["id"]?.stringValue
                else {
                    kept.append(resource)
                    continue
                }
                let id = "\(objectID)-\(items.count + lifted.count + 1)"
                renamed["#" + local] = type + "/" + id
                lifted.append(Item(resource: resource, covered: items[index].covered, id: id, liftedFrom: (index, local)))
            }
            guard !renamed.isEmpty else { continue }
            object["contained"] = kept.isEmpty ? nil : .array(kept)
            items[index].resource = BundleReferences.rewrite(.object(object), renamed)
            for liftedIndex in lifted.indices { lifted[liftedIndex].resource = BundleReferences.rewrite(lifted[liftedIndex].resource, renamed) }
        }
        items += lifted
    }

    /// The resources a FHIR write kept as sent, each read over the resource
    /// it became: the one of its type with its id, else the next of its type
    /// (a report's results in their order); that resource takes its id.
    /// An original's contained resources that were lifted out are read over
    /// the resources they became, not kept contained beside them.
    mutating func place(_ originals: [JSON]) {
        var renamed: [String: String] = [:]
        for original in originals {
            guard let type = original["resourceType"]?.stringValue else { continue }
            let id = original["id"]?.stringValue
            guard
                let index = items.indices.first(where: { !items[$0].placed && items[$0].type == type && items[$0].id == id })
                    ?? items.indices.first(where: { !items[$0].placed && items[$0].type == type })
            else { continue }
            items[index].placed = true
            let covered = items[index].covered[type] ?? ["resourceType", "id", "meta"]
            let sent = placeContained(of: original, holder: index)
            items[index].resource = MappedCompositions.combined(mapped: items[index].resource, original: sent, covered: covered)
            if let id, FHIRService.isValidID(id), id != items[index].id {
                renamed[type + "/" + items[index].id] = type + "/" + id
                items[index].id = id
            }
        }
        guard !renamed.isEmpty else { return }
        for index in items.indices { items[index].resource = BundleReferences.rewrite(items[index].resource, renamed) }
    }

    /// Places the contained resources of `original` that were lifted out of
    /// the item at `holder` (each over the resource it became, by local id,
    /// else in order of type), and returns the original without them, its
    /// `#id` references renamed to the resources they became.
    private mutating func placeContained(of original: JSON, holder: Int) -> JSON {
        guard case .object(var object) = original, let contained = object["contained"]?.arrayValue else { return original }
        var kept: [JSON] = []
        var placed: [(index: Int, resource: JSON)] = []
        var renamed: [String: String] = [:]
        for resource in contained {
            // The one lifted with its local id, else the next of its type lifted from the holder (the engine numbers its own).
            let lifted = items.indices.filter { !items[$0].placed && items[$0].liftedFrom?.holder == holder }
            guard let local = resource["id"]?.stringValue, let type = resource["resourceType"]?.stringValue,
                let index = lifted.first(where: { items[$0].liftedFrom?.local == local }) ?? lifted.first(where: { items[$0].type == type })
            else {
                kept.append(resource)
                continue
            }
            items[index].placed = true
            renamed["#" + local] = type + "/" + items[index].id
            placed.append((index, resource))
        }
        for (index, resource) in placed {
            let type = items[index].type ?? ""
            let covered = items[index].covered[type] ?? ["resourceType", "id", "meta"]
            items[index].resource = MappedCompositions.combined(mapped: items[index].resource, original: BundleReferences.rewrite(resource, renamed), covered: covered)
        }
        object["contained"] = kept.isEmpty ? nil : .array(kept)
        return BundleReferences.rewrite(.object(object), renamed)
    }
}
