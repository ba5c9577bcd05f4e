import FHIR
import Foundation
import JSONCore
import OpenEHR
import Storage

/// FHIR R4 resources on the version store (R4 §http): each resource a
/// versioned object `Type/id` without an EHR, each write a contribution
/// with its audit, every version kept (erasure aside). Transport-free: the
/// FHIR routes turn requests into these calls and errors into OperationOutcomes.
public struct FHIRService: Sendable {
    public let store: VersionStore
    public let search: FHIRSearchStore
    public let systemID: String
    /// References to this server's resources must name existing ones; a
    /// referenced resource cannot be deleted (409).
    public let referentialIntegrity: Bool
    /// The profiles writes are checked against (FR Core and those stored here).
    public let profiles: FHIRProfiles
    /// Several matches of a conditional delete: 412, or all deleted (`SOCLE_FHIR_CONDITIONAL_DELETE`).
    public var conditionalDelete = ConditionalDelete.single
    /// Broken rules are reported, not refused, but structure still is: for
    /// an implementation guide's package stored as its authors published it.
    var rulesAsWarnings = false
    /// Where resources a mapping takes are stored as compositions (`MappedCompositions`); nil: no mapped writes.
    public var compositions: CompositionService?

    public init(store: Store, systemID: String, referentialIntegrity: Bool = true, profiles: FHIRProfiles = FHIRProfiles()) {
        self.store = store.versions
        self.search = store.fhirSearch
        self.systemID = systemID
        self.referentialIntegrity = referentialIntegrity
        self.profiles = profiles
    }

    /// One version of a resource as stored.
    public struct ResourceVersion: Sendable {
        public var type: String
        public var id: String
        public var versionID: Int
        public var lastUpdated: ISODateTime
        public var isDeleted: Bool
        /// How the version came (R4 history `request.method`): POST, PUT or DELETE.
        public var method: String
        /// The resource's JSON as stored (with its `meta`); empty for a deletion.
        public var bytes: [UInt8]
        /// The warnings of the write that made it (a claimed profile not held).
        public var issues: [FHIRIssue] = []
        /// The patient whose compartment it is in (`Patient/…`), when it is in one.
        public var patient: String?
        /// The composition it is seen from (`MappedCompositions`), when it is not a resource of its own.
        public var composition: String?

        public var reference: String { type + "/" + id }
        public var json: JSON? { bytes.isEmpty ? nil : try? JSONParser.parse(bytes) }

        init(_ record: VersionRecord) {
            let parts = record.objectID.split(separator: "/", maxSplits: 1)
            type = parts.first.map(String.init) ?? ""
            id = parts.count > 1 ? String(parts[1]) : ""
            versionID = record.versionNumber
            lastUpdated = ISODateTime(microsecondsSinceEpoch: record.audit.timeCommitted)
            isDeleted = record.lifecycleState == VersionLifecycleState.deleted.rawValue
            method = isDeleted ? "DELETE" : record.versionNumber == 1 && record.audit.changeType == AuditChangeType.creation.rawValue ? "POST" : "PUT"
            bytes = record.data
            patient = record.patientID
        }
    }

    /// A patch document (R4 §patch): JSON Patch (RFC 6902), FHIRPath Patch
    /// (a Parameters resource), or JSON Merge Patch (RFC 7386), which
    /// clients written for Aidbox send.
    public enum Patch: Sendable {
        case json(JSON)
        case fhirPath(JSON)
        case merge(JSON)
    }

    // MARK: Types and ids

    /// The resource types this server stores: every concrete R4 resource
    /// type but Parameters, which R4 says is never persisted.
    public static let resourceTypes: [String] = FHIRSchema.r4.types.values
        .filter { $0.kind == .resource && !$0.isAbstract && $0.name != "Parameters" }.map(\.name).sorted()
    static let knownTypes = Set(resourceTypes)

    static func requireType(_ type: String) throws {
        guard knownTypes.contains(type) else { throw ServiceError(.notFound, "'\(type)' is not a resource type this server stores (FHIR R4)") }
    }

    /// R4 §Resource.id: 1 to 64 of `A-Z a-z 0-9 - .`.
    static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.count) && id.allSatisfy(idCharacters.contains)
    }

    static let idCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.")

    static func requireID(_ id: String) throws {
        guard isValidID(id) else {
            throw ServiceError(.badRequest, "'\(id)' is not a valid resource id: 1 to 64 letters, digits, '-' or '.'", problems: [DecodingProblem(path: "id", message: "invalid id")])
        }
    }

    // MARK: Interactions

    /// create (R4 §create): a new resource with a server-assigned id; an
    /// id in the body is ignored, as R4 says.
    public func create(type: String, resource: JSON, committal: Committal) async throws -> ResourceVersion {
        try Self.requireType(type)
        let id = UUIDText.random()
        let checked = try Self.prepared(resource, type: type, id: id, checks: writeChecks)
        try await requireTargets(of: [checked.json])
        if let input = mapping(of: checked.json, type: type) {
            var version = try await createMapped(checked.json, type: type, input: input, committal: committal)
            version.issues = checked.warnings
            return version
        }
        var version = try await write(checked.json, type: type, id: id, preceding: nil, committal: committal, change: .creation)
        version.issues = checked.warnings
        return version
    }

    // MARK: Conditional interactions

    /// conditional create (R4 §create, `If-None-Exist`): no match creates,
    /// one match is answered as it is (created false), several are 412. Two
    /// such creates at once make one resource: the commit re-checks the
    /// criteria under a lock (`CommitCondition.noFHIRMatch`), and the one
    /// that finds the other's resource answers with it.
    public func create(type: String, resource: JSON, ifNoneExist: String, committal: Committal) async throws -> (ResourceVersion, created: Bool) {
        try Self.requireType(type)
        let criteria = try FHIRCriteriaParser.parse(type: type, query: ifNoneExist)
        let checked = try Self.prepared(resource, type: type, id: "pending", checks: writeChecks)
        let prepared = checked.json
        return try await retrying(true) {
            let found = try await search.matches(criteria, limit: 2)
            switch found.count {
            case 0:
                let id = UUIDText.random()
                if let input = mapping(of: Self.withID(prepared, id), type: type) {
                    var version = try await createMapped(
                        Self.withID(prepared, id), type: type, input: input, committal: committal, conditions: [.noFHIRMatch(criteria)])
                    version.issues = checked.warnings
                    return (version, true)
                }
                var version = try await write(
                    Self.withID(prepared, id), type: type, id: id, preceding: nil, committal: committal, change: .creation, conditions: [.noFHIRMatch(criteria)])
                version.issues = checked.warnings
                return (version, true)
            case 1: return (try await read(reference: found[0]), false)
            default: throw ServiceError(.preconditionFailed, "If-None-Exist '\(ifNoneExist)' matches more than one \(type)")
            }
        }
    }

    /// conditional update (R4 §update, `PUT Type?criteria`): no match
    /// creates (with the body's id, or one of the server's), one match is
    /// updated (the body's id, when given, must be its), several are 412.
    public func update(type: String, criteria query: String, resource: JSON, committal: Committal) async throws -> (ResourceVersion, created: Bool) {
        try Self.requireType(type)
        let criteria = try FHIRCriteriaParser.parse(type: type, query: query)
        let found = try await search.matches(criteria, limit: 2)
        switch found.count {
        case 0:
            let id = resource["id"]?.stringValue ?? UUIDText.random()
            return try await update(type: type, id: id, resource: Self.withID(resource, id), ifMatch: nil, committal: committal)
        case 1:
            let id = Self.id(of: found[0], type: type)
            if let sent = resource["id"]?.stringValue, sent != id {
                throw ServiceError(.badRequest, "the criteria match \(found[0]), but the body's id is '\(sent)'")
            }
            return try await update(type: type, id: id, resource: Self.withID(resource, id), ifMatch: nil, committal: committal)
        default:
            throw ServiceError(.preconditionFailed, "the criteria '\(query)' match more than one \(type)")
        }
    }

    /// What a conditional delete matching several resources does (R4
    /// CapabilityStatement `conditionalDelete`): refuse with 412 (`single`,
    /// the default) or delete them all in one contribution (`multiple`, up to
    /// `conditionalDeleteLimit`).
    public enum ConditionalDelete: String, Sendable, CaseIterable {
        case single, multiple
    }

    /// The most resources one conditional delete removes (`multiple`); more is 412.
    public static let conditionalDeleteLimit = 1000

    /// conditional delete (R4 §delete, `DELETE Type?criteria`): nothing when
    /// nothing matches, the match deleted; several are 412 unless the
    /// server deletes them all (`conditionalDelete` multiple), together,
    /// as one contribution. Returns the deletions.
    public func delete(type: String, criteria query: String, committal: Committal) async throws -> [ResourceVersion] {
        try Self.requireType(type)
        let criteria = try FHIRCriteriaParser.parse(type: type, query: query)
        let limit = conditionalDelete == .single ? 1 : Self.conditionalDeleteLimit
        let found = try await search.matches(criteria, limit: limit + 1)
        guard found.count <= limit else {
            throw ServiceError(
                .preconditionFailed,
                conditionalDelete == .single
                    ? "the criteria '\(query)' match more than one \(type)"
                    : "the criteria '\(query)' match more than \(limit) \(type) resources: narrow them")
        }
        if found.count <= 1 {
            guard let match = found.first, let deleted = try await delete(type: type, id: Self.id(of: match, type: type), committal: committal)
            else { return [] }
            return [deleted]
        }
        try await requireUnreferenced(found, except: Set(found))
        let latest = try await store.latestVersions(objectIDs: found)
        let now = ISODateTime.now()
        let audit = try committal.audit(systemID: systemID, at: now, defaultChange: .deleted)
        let contributionID = UUIDText.timeOrdered()
        let deletions = found.compactMap { reference -> (VersionWrite, ResourceVersion)? in
            guard let current = latest[reference], current.ehrID == nil, current.lifecycleState != VersionLifecycleState.deleted.rawValue else { return nil }
            return Self.versionWrite(
                nil, type: type, id: Self.id(of: reference, type: type), preceding: current.versionNumber, audit: audit,
                contributionID: contributionID, patientID: current.patientID)
        }
        let patients = Set(deletions.map(\.0.record.patientID))
        let contribution = ContributionRecord(
            contributionID: contributionID, ehrID: nil, patientID: patients.count == 1 ? patients.first ?? nil : nil, audit: audit)
        do {
            try await commit(contribution, versions: deletions.map(\.0))
        } catch let error as StoreError {
            throw ServiceError(error)
        }
        return deletions.map(\.1)
    }

    /// The resources a conditional reference names (`Type?criteria`), at most `limit`.
    public func resolve(_ conditional: String, limit: Int = 2) async throws -> [String] {
        guard let mark = conditional.firstIndex(of: "?") else { throw ServiceError(.badRequest, "'\(conditional)' is not Type?criteria") }
        let type = String(conditional[..<mark])
        try Self.requireType(type)
        return try await search.matches(FHIRCriteriaParser.parse(type: type, query: String(conditional[conditional.index(after: mark)...])), limit: limit)
    }

    func read(reference: String) async throws -> ResourceVersion {
        let parts = reference.split(separator: "/", maxSplits: 1).map(String.init)
        return try await read(type: parts[0], id: parts.count > 1 ? parts[1] : "")
    }

    static func withID(_ resource: JSON, _ id: String) -> JSON {
        guard case .object(var object) = resource else { return resource }
        object["id"] = .string(id)
        return .object(object)
    }

    /// read (R4 §read): the latest version; 410 when it is deleted.
    public func read(type: String, id: String) async throws -> ResourceVersion {
        try Self.requireType(type)
        guard let record = try await store.latestVersion(objectID: type + "/" + id), record.ehrID == nil else {
            guard let viewed = try await viewed(type + "/" + id) else { throw ServiceError(.notFound, "\(type)/\(id) does not exist") }
            if viewed.isDeleted { throw ServiceError(.gone, "\(type)/\(id) was deleted with composition \(viewed.source) (version \(viewed.versionNumber))") }
            return ResourceVersion(viewed)
        }
        let version = ResourceVersion(record)
        if version.isDeleted { throw ServiceError(.gone, "\(type)/\(id) was deleted (version \(version.versionID))", latestVersion: nil) }
        return version
    }

    /// vread (R4 §vread): one version; 410 for the version that deleted it.
    public func vread(type: String, id: String, versionID: String) async throws -> ResourceVersion {
        try Self.requireType(type)
        guard let number = Int(versionID), number > 0 else { throw ServiceError(.notFound, "\(type)/\(id) has no version \(versionID)") }
        let found: ResourceVersion? =
            if let record = try await store.version(objectID: type + "/" + id, number: number) {
                record.ehrID == nil ? ResourceVersion(record) : nil
            } else if let viewed = try await viewed(type + "/" + id) {
                try await viewedVersion(viewed, number: number)
            } else {
                nil
            }
        guard let version = found else { throw ServiceError(.notFound, "\(type)/\(id) has no version \(versionID)") }
        if version.isDeleted { throw ServiceError(.gone, "version \(versionID) of \(type)/\(id) is its deletion") }
        return version
    }

    /// update (R4 §update): a new version, or the resource created with the
    /// client's id when there is none (update as create). `ifMatch` (the
    /// version the client read) must be the latest (412).
    public func update(type: String, id: String, resource: JSON, ifMatch: Int?, committal: Committal) async throws -> (ResourceVersion, created: Bool) {
        try Self.requireType(type)
        try Self.requireID(id)
        guard resource["id"]?.stringValue == id else {
            throw ServiceError(
                .badRequest, "the resource's id must be '\(id)', the id of the URL (R4 §update)",
                problems: [DecodingProblem(path: "\(type).id", message: resource["id"] == nil ? "missing" : "does not match the URL")])
        }
        let checked = try Self.prepared(resource, type: type, id: id, checks: writeChecks)
        let prepared = checked.json
        try await requireTargets(of: [prepared], except: [type + "/" + id])
        return try await retrying(ifMatch == nil) {
            let latest = try await store.latestVersion(objectID: type + "/" + id)
            if latest == nil, let viewed = try await viewed(type + "/" + id) {
                guard let change = try await seenChange(to: prepared, of: viewed) else { throw Self.viewedRefusal(type + "/" + id, composition: viewed.source) }
                var version = try await updateMapped(change, viewed: viewed, ifMatch: ifMatch, committal: committal)
                version.issues = checked.warnings
                return (version, false)
            }
            try Self.requireCurrent(type + "/" + id, latest: latest, ifMatch: ifMatch)
            // Update as create of a resource a mapping takes: a new composition, the resource seen under the client's id.
            if latest == nil, let input = mapping(of: prepared, type: type) {
                var version = try await createMapped(prepared, type: type, input: input, committal: committal)
                version.issues = checked.warnings
                return (version, true)
            }
            // A PUT that changes nothing writes no version (as HAPI FHIR does): the current one is the answer.
            if let latest, latest.lifecycleState != VersionLifecycleState.deleted.rawValue, Self.sameContent(latest.data, prepared) {
                return (ResourceVersion(latest), false)
            }
            var version = try await write(prepared, type: type, id: id, preceding: latest?.versionNumber, committal: committal, change: latest == nil ? .creation : .modification)
            version.issues = checked.warnings
            return (version, latest == nil)
        }
    }

    /// The checks of a write against the object's current version, for
    /// single interactions and transactions alike: a FHIR resource of this
    /// server (409), the version `ifMatch` names still the latest (412).
    static func requireCurrent(_ objectID: String, latest: VersionRecord?, ifMatch: Int?) throws {
        if let latest, latest.ehrID != nil { throw ServiceError(.conflict, "\(objectID) is not a FHIR resource of this server") }
        if let ifMatch, ifMatch != latest?.versionNumber {
            throw ServiceError(.preconditionFailed, "If-Match names version \(ifMatch), the latest of \(objectID) is \(latest.map { String($0.versionNumber) } ?? "none")")
        }
    }

    /// The version an entity tag names (`W/"3"`, `"3"`, `3`); nil for anything else.
    public static func versionID(ofETag tag: String) -> Int? {
        var text = tag.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("W/") { text.removeFirst(2) }
        guard let number = Int(text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))), number > 0 else { return nil }
        return number
    }

    /// patch (R4 §patch): the latest version (or the one `ifMatch` names,
    /// which must be the latest) patched, checked as an update is.
    public func patch(type: String, id: String, patch: Patch, ifMatch: Int?, committal: Committal) async throws -> ResourceVersion {
        try await retrying(ifMatch == nil) {
            let current = try await read(type: type, id: id)
            if let composition = current.composition, !mapsWrites(of: type) { throw Self.viewedRefusal(current.reference, composition: composition) }
            if let ifMatch, ifMatch != current.versionID {
                throw ServiceError(.preconditionFailed, "If-Match names version \(ifMatch), the latest of \(type)/\(id) is \(current.versionID)")
            }
            guard let json = current.json else { throw ServiceError(.gone, "\(type)/\(id) was deleted") }
            let patched: JSON
            do throws(PatchError) {
                switch patch {
                case .json(let document): patched = try JSONPatch.apply(document, to: json)
                case .fhirPath(let parameters): patched = try FHIRPathPatch.apply(parameters, to: json)
                case .merge(let document): patched = MergePatch.apply(document, to: json)
                }
            } catch {
                throw ServiceError(.unprocessable, "the patch cannot be applied: \(error)",
                    problems: [DecodingProblem(path: "operation[\(error.operation)]", message: error.message)])
            }
            guard patched["resourceType"]?.stringValue == type, patched["id"]?.stringValue == id else {
                throw ServiceError(.unprocessable, "a patch may not change the resource's type or id")
            }
            let checked = try Self.prepared(patched, type: type, id: id, checks: writeChecks, unprocessable: true)
            try await requireTargets(of: [checked.json], except: [type + "/" + id])
            if let composition = current.composition {
                guard let viewed = try await viewed(current.reference), let change = try await seenChange(to: checked.json, of: viewed) else {
                    throw Self.viewedRefusal(current.reference, composition: composition)
                }
                var version = try await updateMapped(change, viewed: viewed, ifMatch: nil, committal: committal)
                version.issues = checked.warnings
                return version
            }
            var version = try await write(checked.json, type: type, id: id, preceding: current.versionID, committal: committal, change: .modification)
            version.issues = checked.warnings
            return version
        }
    }

    /// delete (R4 §delete): a new version that marks the resource deleted;
    /// nil when there is nothing to delete (R4: deleting a deleted or an
    /// unknown resource succeeds all the same).
    public func delete(type: String, id: String, committal: Committal) async throws -> ResourceVersion? {
        try Self.requireType(type)
        return try await retrying(true) {
            let latest = try await store.latestVersion(objectID: type + "/" + id)
            if latest == nil, let viewed = try await viewed(type + "/" + id) {
                guard mapsWrites(of: type) else { throw Self.viewedRefusal(type + "/" + id, composition: viewed.source) }
                return try await deleteMapped(viewed, committal: committal)
            }
            guard let latest, latest.ehrID == nil, latest.lifecycleState != VersionLifecycleState.deleted.rawValue else { return nil }
            try await requireUnreferenced([type + "/" + id])
            return try await write(nil, type: type, id: id, preceding: latest.versionNumber, committal: committal, change: .deleted, patientID: latest.patientID)
        }
    }

    /// history (R4 §history), newest first, and how many versions it has in all.
    public func history(_ query: HistoryQuery) async throws -> (versions: [ResourceVersion], total: Int) {
        if let type = query.rmType { try Self.requireType(type) }
        if let objectID = query.objectID, try await store.versionedObject(objectID) == nil {
            guard let viewed = try await viewed(objectID) else { throw ServiceError(.notFound, "\(objectID) does not exist") }
            return try await viewedHistory(viewed, query)
        }
        let (records, total) = try await store.history(query)
        return (records.map(ResourceVersion.init), total)
    }

    // MARK: Referential integrity

    /// The references to this server's resources in `resources`: every
    /// relative `Type/id` (a contained `#id`, a URL, a `urn:` or a
    /// version-specific reference aside).
    static func localReferences(_ resources: [JSON]) -> Set<String> {
        var found: Set<String> = []
        for resource in resources { BundleReferences.all(resource, into: &found) }
        return found.filter { reference in
            let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && knownTypes.contains(String(parts[0])) && (try? requireID(String(parts[1]))) != nil
        }
    }

    /// 409 when a reference names a resource of this server that does not
    /// exist (or is deleted), but those in `except` (written with it).
    func requireTargets(of resources: [JSON], except written: Set<String> = []) async throws {
        let missing = try await missingTargets(of: resources, except: written)
        guard missing.isEmpty else {
            throw ServiceError(
                .conflict, "the resource refers to \(missing.sorted().joined(separator: ", ")), which this server does not have (referential integrity)",
                problems: missing.sorted().map { DecodingProblem(path: "reference", message: "\($0) does not exist") })
        }
    }

    /// The references of `resources` to resources of this server that do
    /// not exist (or are deleted), but those in `except`; none when the check is off.
    func missingTargets(of resources: [JSON], except written: Set<String> = []) async throws -> Set<String> {
        guard referentialIntegrity else { return [] }
        let wanted = Self.localReferences(resources).subtracting(written)
        guard !wanted.isEmpty else { return [] }
        let missing = wanted.subtracting(try await store.liveRecords(objectIDs: Array(wanted)))
        guard !missing.isEmpty else { return [] }
        // A resource a composition is seen as is a target too, while its composition lives.
        return missing.subtracting(try await search.viewed(Array(missing)).filter { !$0.value.isDeleted }.keys)
    }

    /// 409 when another resource refers to one of `targets` (through a
    /// reference a search parameter indexes), but those in `except` (deleted with them).
    func requireUnreferenced(_ targets: [String], except deleted: Set<String> = []) async throws {
        for target in targets {
            let referrers = try await referrers(of: target, except: deleted)
            if !referrers.isEmpty {
                throw ServiceError(.conflict, "\(target) is referred to by \(referrers.joined(separator: ", ")): it cannot be deleted (referential integrity)")
            }
        }
    }

    /// What keeps `target` from being deleted: up to five resources that
    /// refer to it, but itself and those in `except`; none when the check is off.
    func referrers(of target: String, except deleted: Set<String> = []) async throws -> [String] {
        guard referentialIntegrity else { return [] }
        return try await search.referrers(of: target, limit: 5).filter { !deleted.contains($0) && $0 != target }
    }

    // MARK: Writing

    /// What a write is checked against: the profiles held, and whether a
    /// broken rule (cardinality, binding, invariant, profile) refuses it or
    /// is only reported (conformance resources loaded as published, `load`).
    struct WriteChecks: Sendable {
        var registry: ProfileRegistry
        var rulesRefuse: Bool
    }

    var writeChecks: WriteChecks { WriteChecks(registry: profiles.registry, rulesRefuse: !rulesAsWarnings) }

    /// A resource checked for writing: with its id, and the warnings of
    /// its check (a claimed profile this server does not hold).
    struct Checked {
        var json: JSON
        var warnings: [FHIRIssue]
    }

    /// The resource checked before anything is stored (R4 §validation):
    /// its structure (400: unknown elements, wrong JSON kinds, lexical forms),
    /// then cardinalities, required bindings and invariants, then the
    /// profiles it claims in meta.profile that `registry` holds (422), every
    /// issue with its FHIRPath location. A claimed profile not held is a warning.
    static func prepared(_ resource: JSON, type: String, id: String, checks: WriteChecks, unprocessable: Bool = false) throws -> Checked {
        guard case .object(var object) = resource else { throw ServiceError(.badRequest, "a resource is a JSON object") }
        guard let sent = object["resourceType"]?.stringValue, sent == type else {
            throw ServiceError(
                .badRequest, "the body is a \(object["resourceType"]?.stringValue ?? "resource without resourceType"), not a \(type)",
                problems: [DecodingProblem(path: "resourceType", message: "must be \(type)")])
        }
        object["id"] = .string(id)
        let json = JSON.object(object)
        // One walk: structural issues (unknown elements, JSON kinds, lexical forms) are 400, the others 422.
        let errors = FHIRValidator.validate(json).filter(\.isError)
        let structure = errors.filter { $0.code == "structure" || $0.code == "value" }
        if !structure.isEmpty {
            throw ServiceError(unprocessable ? .unprocessable : .badRequest, "the \(type) is not valid FHIR R4", problems: structure.map(\.problem))
        }
        guard checks.rulesRefuse else { return Checked(json: json, warnings: errors.map { FHIRIssue(.warning, code: $0.code, location: $0.location, message: $0.message) }) }
        if !errors.isEmpty { throw ServiceError(.unprocessable, "the \(type) breaks FHIR R4 rules", problems: errors.map(\.problem)) }
        guard object["meta"]?["profile"] != nil else { return Checked(json: json, warnings: []) }
        let profileIssues = ProfileValidator.validateClaimedProfiles(json, registry: checks.registry)
        let profileErrors = profileIssues.filter(\.isError)
        if !profileErrors.isEmpty {
            throw ServiceError(.unprocessable, "the \(type) does not conform to the profiles it claims", problems: profileErrors.map(\.problem))
        }
        return Checked(json: json, warnings: profileIssues)
    }

    /// Commits one version (nil: a deletion) as a contribution of its own.
    func write(
        _ resource: JSON?, type: String, id: String, preceding: Int?, committal: Committal, change: AuditChangeType, patientID: String? = nil,
        conditions: [CommitCondition] = []
    ) async throws -> ResourceVersion {
        let now = ISODateTime.now()
        let audit = try committal.audit(systemID: systemID, at: now, defaultChange: change)
        let contributionID = UUIDText.timeOrdered()
        let (write, version) = Self.versionWrite(
            resource, type: type, id: id, preceding: preceding, audit: audit, contributionID: contributionID, patientID: patientID, conditions: conditions)
        let contribution = ContributionRecord(contributionID: contributionID, ehrID: nil, patientID: write.record.patientID, audit: audit)
        do {
            try await commit(contribution, versions: [write])
        } catch let error as StoreError {
            throw ServiceError(error)
        }
        return version
    }

    /// Commits a contribution of FHIR writes, with the EHR link of every
    /// Patient it writes (`EHRService.patientLinks`), in one database transaction.
    func commit(_ contribution: ContributionRecord, versions: [VersionWrite]) async throws {
        let patients = versions.filter { $0.rmType == "Patient" && $0.record.lifecycleState != VersionLifecycleState.deleted.rawValue }
        let links = patients.isEmpty ? [] : try await ehrs.patientLinks(patients.map(\.record.objectID), audit: contribution.audit)
        try await commit([(contribution, versions, [])] + links)
    }

    /// Commits contributions in one database transaction; the profiles
    /// held are read again when a conformance resource changed.
    func commit(_ batch: [EHRService.StoreCommit]) async throws {
        if batch.count == 1, let only = batch.first {
            try await store.commit(only.contribution, versions: only.versions, ehrChanges: only.ehrChanges)
        } else {
            try await store.commit(batch: batch)
        }
        if batch.contains(where: { $0.versions.contains { FHIRProfiles.conformanceTypes.contains($0.rmType) } }) { try await profiles.reload(from: store) }
    }

    /// The EHR service, for the EHRs of the Patients written here.
    var ehrs: EHRService { EHRService(store: store, systemID: systemID) }

    /// One version of a resource (nil: its deletion) as a write of a
    /// contribution: `meta.versionId` and `meta.lastUpdated` set, the patient
    /// it concerns found, the document kept for the projections.
    static func versionWrite(
        _ resource: JSON?, type: String, id: String, preceding: Int?, audit: AuditRecord, contributionID: String, patientID: String? = nil,
        conditions: [CommitCondition] = []
    ) -> (VersionWrite, ResourceVersion) {
        let number = (preceding ?? 0) + 1
        var bytes: [UInt8] = []
        var document: JSON?
        var patient = patientID
        if case .object(var object)? = resource {
            var meta = object["meta"]?.objectValue ?? JSONObject()
            meta["versionId"] = .string(String(number))
            meta["lastUpdated"] = .string(ISODateTime(microsecondsSinceEpoch: audit.timeCommitted).description)
            object["meta"] = .object(meta)
            let json = JSON.object(object)
            bytes = JSONSerializer.bytes(json)
            document = json
            patient = Self.patient(of: json)
        }
        let record = VersionRecord(
            objectID: type + "/" + id, versionNumber: number, ehrID: nil, patientID: patient, contributionID: contributionID,
            audit: audit, lifecycleState: (resource == nil ? VersionLifecycleState.deleted : .complete).rawValue, data: bytes)
        let write: VersionWrite =
            preceding.map { .update(record, rmType: type, precedingVersion: $0, document: document, conditions: conditions) }
            ?? .create(record, rmType: type, document: document, conditions: conditions)
        return (write, ResourceVersion(record))
    }

    /// The patient a resource concerns (R4 Patient compartment): itself for
    /// a Patient, else the first Patient it is in; erasing that patient removes it.
    /// The patients whose compartments the resources of a batch or transaction are in.
    public static func patients(inBundle bundle: JSON) -> [String] {
        var patients: [String] = []
        for entry in bundle["entry"]?.arrayValue ?? [] {
            if let resource = entry["resource"], let patient = patient(of: resource), !patients.contains(patient) { patients.append(patient) }
        }
        return patients
    }

    /// The patient whose compartment a resource is in (`Patient/{id}`), if any.
    public static func patient(of resource: JSON) -> String? {
        SearchIndexer.r4.compartments(of: resource).first { $0.compartment == "Patient" }.map { "Patient/" + $0.id }
    }

    /// Runs `body` again when another writer got in first and the client
    /// did not pin a version (no If-Match): a few times, then the conflict stands.
    func retrying<T>(_ retry: Bool, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as ServiceError where retry && attempt < 4 && (error.kind == .preconditionFailed || error.kind == .conflict) {
                attempt += 1
            }
        }
    }
}

extension FHIRIssue {
    /// The issue as the services report problems: its FHIRPath location and message.
    var problem: DecodingProblem { DecodingProblem(path: location, message: message) }
}
