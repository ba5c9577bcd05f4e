import Foundation
import JSONCore
import OpenEHR
import Storage

/// The resources compositions are seen as (docs/architecture.md §Mapped
/// reads): read, searched, included and listed in their history like those
/// written through FHIR; written only through openEHR until mapped FHIR
/// writes come.
extension FHIRService {
    /// The view the store's FHIR search projection keeps, if any.
    var compositionView: (any CompositionFHIRView)? { store.projections.compositionView }

    /// The latest versions of `references` (`Type/id`): the resources written
    /// through FHIR, then those compositions are seen as.
    func latestResources(_ references: [String]) async throws -> [String: ResourceVersion] {
        var found = try await store.latestVersions(objectIDs: references).filter { $0.value.ehrID == nil }.mapValues(ResourceVersion.init)
        let missing = references.filter { found[$0] == nil }
        guard !missing.isEmpty else { return found }
        for (reference, viewed) in try await search.viewed(missing) { found[reference] = ResourceVersion(viewed) }
        return found
    }

    /// The resource a composition is seen as, by reference.
    func viewed(_ reference: String) async throws -> ViewedResource? {
        try await search.viewed([reference]).values.first
    }

    /// A write to a resource a composition is seen as, when no context maps
    /// its type (409): its composition is changed through openEHR.
    /// 409 when a FHIR resource refers to one of the resources a composition
    /// is seen as: deleting the composition through openEHR would leave that
    /// reference pointing at nothing (referential integrity, as for a FHIR delete).
    public func requireUnreferenced(composition objectID: String) async throws {
        guard referentialIntegrity else { return }
        let seen = try await search.viewed(source: objectID).filter { !$0.isDeleted }.map { $0.type + "/" + $0.id }
        for target in seen {
            let referrers = try await referrers(of: target, except: Set(seen))
            if !referrers.isEmpty {
                throw ServiceError(
                    .conflict,
                    "composition \(objectID) is \(target) on the FHIR face, which \(referrers.joined(separator: ", ")) refers to: it cannot be deleted (referential integrity)")
            }
        }
    }

    static func viewedRefusal(_ reference: String, composition: String) -> ServiceError {
        ServiceError(
            .conflict,
            "\(reference) is composition \(composition) seen through its FHIR mapping: change the composition through openEHR")
    }

    /// Every version of a seen resource, newest first: one per version of
    /// its composition that shows it (mapped again from that version), the
    /// composition's deletion as the resource's.
    func versions(of viewed: ViewedResource) async throws -> [ResourceVersion] {
        guard let view = compositionView else { return [ResourceVersion(viewed)] }
        let history = try await store.versionHistory(objectID: viewed.source)
        let documents = try await store.documents(Set(history.map { VersionKey(objectID: $0.objectID, versionNumber: $0.versionNumber) }))
        return history.reversed().compactMap { record in
            var record = record
            record.data = documents[VersionKey(objectID: record.objectID, versionNumber: record.versionNumber)] ?? []
            return Self.seen(viewed, in: record, view: view)
        }
    }

    /// vread of a seen resource: the one composition version mapped again.
    func viewedVersion(_ viewed: ViewedResource, number: Int) async throws -> ResourceVersion? {
        if number == viewed.versionNumber { return ResourceVersion(viewed) }
        guard let view = compositionView, let record = try await store.version(objectID: viewed.source, number: number) else { return nil }
        return Self.seen(viewed, in: record, view: view)
    }

    /// The seen resource in one version of its composition (with its data):
    /// its deletion, the resource mapped from it, or nil when it does not show it.
    static func seen(_ viewed: ViewedResource, in record: VersionRecord, view: any CompositionFHIRView) -> ResourceVersion? {
        let reference = viewed.type + "/" + viewed.id
        if record.lifecycleState == VersionLifecycleState.deleted.rawValue { return ResourceVersion(viewed: reference, record: record, body: []) }
        guard let document = try? JSONParser.parse(record.data) else { return nil }
        let version = ProjectedVersion(
            record: record, rmType: "COMPOSITION", templateID: document["archetype_details"]?["template_id"]?["value"]?.stringValue,
            isCreation: record.versionNumber == 1, document: document)
        guard let resource = view.resources(of: version).first(where: { $0["id"]?.stringValue == viewed.id && $0["resourceType"]?.stringValue == viewed.type })
        else { return nil }
        return ResourceVersion(viewed: reference, record: record, body: JSONSerializer.bytes(resource))
    }

    /// history of a seen resource (`_since`, `_at`, the page).
    func viewedHistory(_ viewed: ViewedResource, _ query: HistoryQuery) async throws -> (versions: [ResourceVersion], total: Int) {
        var versions = try await versions(of: viewed)
        if let since = query.since { versions = versions.filter { $0.lastUpdated.microsecondsSinceEpoch >= since } }
        if let at = query.at { versions = Array(versions.filter { $0.lastUpdated.microsecondsSinceEpoch <= at }.prefix(1)) }
        return (Array(versions.dropFirst(query.offset).prefix(query.limit)), versions.count)
    }
}

extension FHIRService.ResourceVersion {
    /// The latest version of a resource a composition is seen as.
    init(_ viewed: ViewedResource) {
        self.init(
            type: viewed.type, id: viewed.id, versionID: viewed.versionNumber, time: viewed.timeCommitted, body: viewed.body, patient: viewed.patientID,
            composition: viewed.source)
    }

    /// A seen resource in one version of its composition (an empty body: the deletion).
    init(viewed reference: String, record: VersionRecord, body: [UInt8]) {
        let parts = reference.split(separator: "/", maxSplits: 1).map(String.init)
        self.init(
            type: parts[0], id: parts.count > 1 ? parts[1] : "", versionID: record.versionNumber, time: record.audit.timeCommitted, body: body,
            patient: record.patientID, composition: record.objectID)
    }

    init(type: String, id: String, versionID: Int, time: Int64, body: [UInt8], patient: String?, composition: String) {
        self.type = type
        self.id = id
        self.versionID = versionID
        lastUpdated = ISODateTime(microsecondsSinceEpoch: time)
        isDeleted = body.isEmpty
        method = isDeleted ? "DELETE" : versionID == 1 ? "POST" : "PUT"
        bytes = body
        self.patient = patient
        self.composition = composition
    }
}
