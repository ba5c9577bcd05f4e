import JSONCore
import Metrics
import OpenEHR
import Storage
import Templates
import Tracing

/// COMPOSITION use cases (ITS-REST 1.0.3 §COMPOSITION, §VERSIONED_COMPOSITION).
/// Every composition, whatever its entry point, goes through `prepare`:
/// canonical JSON checked against the RM, then validated against the
/// template it names, before anything is written.
public struct CompositionService: Sendable {
    public let store: VersionStore
    public let templates: TemplateService
    public let systemID: String
    let decoder = CanonicalDecoder()
    let validator = TemplateValidator()
    /// What must hold before a composition is deleted through openEHR (the
    /// FHIR face: nothing refers to the resources it is seen as,
    /// `FHIRService.requireUnreferenced(composition:)`); nil: nothing.
    public var deletionCheck: (@Sendable (_ objectID: String) async throws -> Void)?

    public init(store: VersionStore, templates: TemplateService, systemID: String) {
        self.store = store
        self.templates = templates
        self.systemID = systemID
    }

    /// One version of a composition as stored.
    public typealias CompositionVersion = StoredVersion

    /// A composition checked and ready to commit.
    struct Prepared {
        var tree: JSON
        var templateID: String
        /// The template's revision it was validated against: a condition of its commit.
        var revision: String

        var conditions: [CommitCondition] { [.templateRevision(templateID: templateID, revision: revision)] }
    }

    /// The one validation path: RM decoding (400 with every problem), then
    /// the template (422 naming an unknown template, or every violation).
    /// A violation found with a kept template that another node has replaced
    /// meanwhile is judged again against the current one.
    func prepare(_ json: JSON) async throws -> Prepared {
        do {
            let prepared = try await withSpan("validate composition") { span in
                let prepared = try await validate(json)
                span.attributes["socle.template_id"] = prepared.templateID
                return prepared
            }
            Counter(label: "socle_compositions_validated_total").increment()
            return prepared
        } catch let error as ServiceError {
            // Refused by the RM (400) or by its template (422); no label holds an id or a template.
            Counter(label: "socle_compositions_refused_total", dimensions: [("status", String(error.kind.statusCode))]).increment()
            throw error
        }
    }

    func validate(_ json: JSON) async throws -> Prepared {
        let tree: JSON
        do {
            tree = try decoder.decode(json, as: "COMPOSITION")
        } catch {
            throw ServiceError(.badRequest, "the request body is not a valid COMPOSITION", problems: error.problems)
        }
        guard let templateID = tree["archetype_details"]?["template_id"]?["value"]?.stringValue, !templateID.isEmpty else {
            throw ServiceError(
                .unprocessable, "the composition names no template (archetype_details/template_id/value)",
                problems: [DecodingProblem(path: "/archetype_details/template_id", message: "is mandatory: compositions are validated against their template")])
        }
        while true {
            guard let entry = try await templates.entry(templateID) else {
                throw ServiceError(
                    .unprocessable, "unknown template '\(templateID)': upload it first",
                    problems: [DecodingProblem(path: "/archetype_details/template_id/value", message: "template '\(templateID)' is not known")])
            }
            let problems = validator.validate(tree, against: entry.template)
            if problems.isEmpty { return Prepared(tree: tree, templateID: templateID, revision: entry.revision) }
            if try await templates.isStale(templateID, revision: entry.revision) { continue }
            throw ServiceError(.unprocessable, "the composition does not conform to template '\(templateID)'", problems: problems)
        }
    }

    /// The body as canonical JSON: as sent, or read from FLAT through the
    /// web template of its template (422 naming every key it cannot place).
    func canonical(_ input: CompositionInput) async throws -> JSON {
        guard case .flat(let flat, let templateID) = input else {
            if case .canonical(let json) = input { return json }
            return .null
        }
        while true {
            guard let entry = try await templates.readerEntry(templateID, current: false), let reader = entry.reader else {
                throw ServiceError(.unprocessable, "unknown template '\(templateID)': upload it first")
            }
            do {
                return try reader.composition(flat)
            } catch {
                if try await templates.isStale(templateID, revision: entry.revision) { continue }
                throw ServiceError(.unprocessable, "the FLAT composition does not fit the web template of '\(templateID)'", problems: error.problems)
            }
        }
    }

    /// STRUCTURED is FLAT nested: its FLAT keys.
    public static func flat(fromStructured structured: JSONObject) -> JSONObject { StructuredFormat.flat(structured) }

    /// FLAT keys nested as STRUCTURED.
    public static func structured(fromFlat flat: JSON) -> JSON {
        guard case .object(let object) = flat else { return flat }
        return .object(StructuredFormat.structured(object))
    }

    /// A stored composition in FLAT, through the web template of its template.
    public func flat(_ version: CompositionVersion) async throws -> JSON {
        let json = try JSONParser.parse(version.record.data)
        guard let templateID = json["archetype_details"]?["template_id"]?["value"]?.stringValue,
            let reader = try await templates.flatReader(templateID, current: true)
        else { throw ServiceError(.unprocessable, "the composition's template is not known: FLAT cannot be written") }
        return .object(reader.flat(json))
    }

    /// POST /ehr/{ehr_id}/composition: the first version of a new composition.
    public func create(ehrID: String, json: JSON, committal: Committal) async throws -> CompositionVersion {
        try await create(ehrID: ehrID, input: .canonical(json), committal: committal)
    }

    /// POST /ehr/{ehr_id}/composition in canonical JSON or FLAT. `conditions`:
    /// more the commit must find true (a FHIR conditional create's criteria).
    public func create(ehrID: String, input: CompositionInput, committal: Committal, conditions: [CommitCondition] = []) async throws
        -> CompositionVersion
    {
        let ehr = try await store.existingEHR(ehrID)
        return try await templates.retryingOnChange {
            let contribution = try ContributionRecord.new(ehr, committal, .creation, systemID: systemID)
            let prepared = try await prepare(try await canonical(input))
            var (write, version) = creation(
                ehr: ehr, prepared: prepared, audit: contribution.audit, contributionID: contribution.contributionID, lifecycle: committal.lifecycleState)
            write.tags = committal.tagReplacements(ehrID: ehr.ehrID, uid: version.uid, audit: contribution.audit)
            write.conditions += conditions
            try await store.commit(contribution, [write], objectID: version.uid.objectID, systemID: systemID)
            return version
        }
    }

    /// The write that creates a composition, inside a contribution.
    func creation(ehr: EHRRecord, prepared: Prepared, audit: AuditRecord, contributionID: String, lifecycle: VersionLifecycleState)
        -> (VersionWrite, CompositionVersion)
    {
        let uid = ObjectVersionID(objectID: Self.clientObjectID(prepared.tree) ?? UUIDText.timeOrdered(), creatingSystemID: systemID, versionNumber: 1)
        let stored = Self.withUID(prepared.tree, uid)
        let record = VersionRecord.committed(
            ehr: ehr, uid: uid, data: JSONSerializer.bytes(stored), audit: audit, contributionID: contributionID, lifecycle: lifecycle)
        return (
            .create(record, rmType: "COMPOSITION", templateID: prepared.templateID, document: stored, conditions: prepared.conditions),
            CompositionVersion(uid: uid, record: record)
        )
    }

    /// GET /ehr/{ehr_id}/composition/{uid_based_id}: a version uid gives
    /// that version; a versioned object id the latest, or the one extant at `time`.
    public func composition(ehrID: String, uid: String, at time: ISODateTime? = nil) async throws -> CompositionVersion {
        // The common read, the latest version by object id, is one query; the
        // checks below run when it finds nothing, to say what is missing.
        if time == nil, UUIDText.isValid(uid), UUIDText.isValid(ehrID),
            let record = try await store.latestVersion(objectID: uid.lowercased(), ehrID: ehrID.lowercased(), rmType: "COMPOSITION")
        {
            return CompositionVersion(uid: ObjectVersionID(objectID: record.objectID, creatingSystemID: systemID, versionNumber: record.versionNumber), record: record)
        }
        let ehr = try await store.existingEHR(ehrID)
        if let versionUID = ObjectVersionID(uid) {
            try await requireComposition(versionUID.objectID, in: ehr)
            guard versionUID.creatingSystemID == systemID, let record = try await store.version(objectID: versionUID.objectID, number: versionUID.versionNumber) else {
                throw ServiceError(.notFound, "EHR \(ehr.ehrID) has no composition version \(uid)")
            }
            return CompositionVersion(uid: versionUID, record: record)
        }
        guard UUIDText.isValid(uid) else {
            throw ServiceError(.badRequest, "'\(uid)' is neither a version uid (uuid::system_id::version) nor a versioned object id (uuid)")
        }
        return try await version(of: uid.lowercased(), in: ehr, at: time)
    }

    /// PUT /ehr/{ehr_id}/composition/{versioned_object_uid} with If-Match.
    public func update(ehrID: String, versionedObjectID: String, precedingVersionUID: String, json: JSON, committal: Committal) async throws
        -> CompositionVersion
    {
        try await update(ehrID: ehrID, versionedObjectID: versionedObjectID, precedingVersionUID: precedingVersionUID, input: .canonical(json), committal: committal)
    }

    /// PUT in canonical JSON or FLAT.
    public func update(ehrID: String, versionedObjectID: String, precedingVersionUID: String, input: CompositionInput, committal: Committal)
        async throws -> CompositionVersion
    {
        let ehr = try await store.existingEHR(ehrID)
        let objectID = try Self.objectID(versionedObjectID)
        return try await templates.retryingOnChange {
            let contribution = try ContributionRecord.new(ehr, committal, .modification, systemID: systemID)
            var (write, version) = try await modification(
                ehr: ehr, objectID: objectID, precedingVersionUID: precedingVersionUID, json: try await canonical(input), audit: contribution.audit,
                contributionID: contribution.contributionID, lifecycle: committal.lifecycleState, stale: .preconditionFailed)
            write.tags = committal.tagReplacements(ehrID: ehr.ehrID, uid: version.uid, audit: contribution.audit)
            try await store.commit(contribution, [write], objectID: objectID, systemID: systemID)
            return version
        }
    }

    /// The write that makes a new version of a composition.
    func modification(
        ehr: EHRRecord, objectID: String, precedingVersionUID: String, json: JSON, audit: AuditRecord, contributionID: String,
        lifecycle: VersionLifecycleState, stale: ServiceError.Kind
    ) async throws -> (VersionWrite, CompositionVersion) {
        let latest = try await requireComposition(objectID, in: ehr)
        let preceding = try latest.precedingVersion(precedingVersionUID, systemID: systemID, what: "composition \(objectID)", stale: stale)
        let prepared = try await prepare(json)
        if let sent = Self.clientObjectID(prepared.tree), sent != objectID {
            throw ServiceError(.badRequest, "the composition's uid \(sent) does not match the versioned object \(objectID)")
        }
        let uid = ObjectVersionID(objectID: objectID, creatingSystemID: systemID, versionNumber: preceding.versionNumber + 1)
        let stored = Self.withUID(prepared.tree, uid)
        let record = VersionRecord.committed(
            ehr: ehr, uid: uid, data: JSONSerializer.bytes(stored), audit: audit, contributionID: contributionID, lifecycle: lifecycle)
        let write = VersionWrite.update(
            record, rmType: "COMPOSITION", precedingVersion: preceding.versionNumber, templateID: prepared.templateID, document: stored,
            conditions: prepared.conditions)
        return (write, CompositionVersion(uid: uid, record: record))
    }

    /// DELETE /ehr/{ehr_id}/composition/{preceding_version_uid}: a logical
    /// delete, committed as a new version whose lifecycle state is deleted.
    public func delete(ehrID: String, precedingVersionUID: String, committal: Committal) async throws -> CompositionVersion {
        try await delete(ehrID: ehrID, uid: precedingVersionUID, ifMatch: nil, committal: committal)
    }

    /// DELETE /ehr/{ehr_id}/composition/{uid}: `uid` is the version to delete
    /// (ITS-REST 1.0.3: the preceding version uid, 409 when it is not the
    /// latest), or the versioned object id, `uuid` or `uuid::system` (ITS-REST
    /// 1.1: the latest version is deleted; `If-Match`, when sent, must name it, 412 otherwise).
    public func delete(ehrID: String, uid: String, ifMatch: String?, committal: Committal) async throws -> CompositionVersion {
        let ehr = try await store.existingEHR(ehrID)
        var precedingVersionUID = uid
        var stale = ServiceError.Kind.conflict
        if ObjectVersionID(uid) == nil {
            let objectID = try Self.objectID(versionedObjectUID: uid, systemID: systemID)
            let latest = try await requireComposition(objectID, in: ehr)
            let latestUID = ObjectVersionID(objectID: objectID, creatingSystemID: systemID, versionNumber: latest.latestVersion)
            precedingVersionUID = ifMatch ?? latestUID.description
            stale = .preconditionFailed
        } else if let ifMatch, ifMatch != uid {
            throw ServiceError(.preconditionFailed, "If-Match \(ifMatch) does not name the version to delete, \(uid)")
        }
        if let deletionCheck, let objectID = ObjectVersionID(precedingVersionUID)?.objectID { try await deletionCheck(objectID) }
        let contribution = try ContributionRecord.new(ehr, committal, .deleted, systemID: systemID)
        let (write, version) = try await deletion(
            ehr: ehr, precedingVersionUID: precedingVersionUID, audit: contribution.audit, contributionID: contribution.contributionID, stale: stale)
        try await store.commit(contribution, [write], objectID: version.uid.objectID, systemID: systemID, stale: stale)
        return version
    }

    /// The write that deletes a composition: its last data, lifecycle state deleted.
    func deletion(ehr: EHRRecord, precedingVersionUID: String, audit: AuditRecord, contributionID: String, stale: ServiceError.Kind) async throws
        -> (VersionWrite, CompositionVersion)
    {
        guard let sent = ObjectVersionID(precedingVersionUID) else {
            throw ServiceError(.badRequest, "'\(precedingVersionUID)' is not a version uid (uuid::system_id::version)")
        }
        let latest = try await requireComposition(sent.objectID, in: ehr)
        let preceding = try latest.precedingVersion(precedingVersionUID, systemID: systemID, what: "composition \(sent.objectID)", stale: stale)
        let (uid, record) = try await store.deletionRecord(
            ehr: ehr, preceding: preceding, what: "composition", alreadyDeleted: ServiceError(.badRequest, "composition \(sent.objectID) is already deleted"),
            audit: audit, contributionID: contributionID, systemID: systemID)
        return (.update(record, rmType: "COMPOSITION", precedingVersion: preceding.versionNumber), CompositionVersion(uid: uid, record: record))
    }

    /// VERSIONED_COMPOSITION. On the `versioned_composition` resources ITS-REST
    /// 1.0.3 lists 200 and 404 only: an id that cannot name one is a 404.
    public func versionedComposition(ehrID: String, objectID: String) async throws -> JSON {
        let object = try await versionedObject(ehrID: ehrID, objectID: objectID)
        return OriginalVersionJSON.versionedObject(object, type: "VERSIONED_COMPOSITION")
    }

    /// REVISION_HISTORY of a composition.
    public func revisionHistory(ehrID: String, objectID: String) async throws -> JSON {
        let object = try await versionedObject(ehrID: ehrID, objectID: objectID)
        return OriginalVersionJSON.revisionHistory(try await store.versionHistory(objectID: object.objectID), systemID: systemID)
    }

    /// ORIGINAL_VERSION, latest or at a time.
    public func originalVersion(ehrID: String, objectID: String, at time: ISODateTime?) async throws -> (CompositionVersion, [UInt8]) {
        let object = try await versionedObject(ehrID: ehrID, objectID: objectID)
        let ehr = try await store.existingEHR(ehrID)
        let version = try await version(of: object.objectID, in: ehr, at: time)
        return (version, OriginalVersionJSON.bytes(version.record, systemID: systemID))
    }

    /// ORIGINAL_VERSION by version uid, which must belong to the object.
    public func originalVersion(ehrID: String, objectID: String, versionUID: String) async throws -> (CompositionVersion, [UInt8]) {
        let object = try await versionedObject(ehrID: ehrID, objectID: objectID)
        guard let uid = ObjectVersionID(versionUID), uid.objectID == object.objectID else {
            throw ServiceError(.notFound, "\(versionUID) is not a version of composition \(object.objectID)")
        }
        let version = try await composition(ehrID: ehrID, uid: versionUID)
        return (version, OriginalVersionJSON.bytes(version.record, systemID: systemID))
    }

    /// The versioned composition the path names; 404 for an EHR id or an
    /// object id that cannot name one as for one that names none.
    func versionedObject(ehrID: String, objectID: String) async throws -> VersionedObjectRecord {
        guard UUIDText.isValid(ehrID), let objectID = try? Self.objectID(versionedObjectUID: objectID, systemID: systemID) else {
            throw ServiceError(.notFound, "EHR \(ehrID) has no versioned composition \(objectID)")
        }
        return try await requireComposition(objectID, in: try await store.existingEHR(ehrID))
    }

    // MARK: Helpers

    func version(of objectID: String, in ehr: EHRRecord, at time: ISODateTime?) async throws -> CompositionVersion {
        try await requireComposition(objectID, in: ehr)
        let record =
            if let time { try await store.version(objectID: objectID, at: time.microsecondsSinceEpoch) } else {
                try await store.latestVersion(objectID: objectID)
            }
        guard let record else { throw ServiceError(.notFound, "composition \(objectID) has no version at \(time?.description ?? "this time")") }
        return CompositionVersion(
            uid: ObjectVersionID(objectID: objectID, creatingSystemID: systemID, versionNumber: record.versionNumber), record: record)
    }

    @discardableResult
    func requireComposition(_ objectID: String, in ehr: EHRRecord) async throws -> VersionedObjectRecord {
        guard let object = try await store.versionedObject(objectID), object.ehrID == ehr.ehrID, object.rmType == "COMPOSITION" else {
            throw ServiceError(.notFound, "EHR \(ehr.ehrID) has no composition \(objectID)")
        }
        return object
    }

    /// A versioned object id as clients send it: `uuid`, or `uuid::system`
    /// (an OBJECT_VERSION_ID without its version), which must be this system's.
    static func objectID(versionedObjectUID text: String, systemID: String) throws -> String {
        let parts = text.components(separatedBy: "::")
        guard parts.count <= 2, UUIDText.isValid(parts[0]) else {
            throw ServiceError(.badRequest, "'\(text)' is neither a version uid (uuid::system_id::version) nor a versioned object id (uuid or uuid::system_id)")
        }
        if parts.count == 2, parts[1] != systemID { throw ServiceError(.notFound, "\(text) was not created by this system (\(systemID))") }
        return parts[0].lowercased()
    }

    static func objectID(_ text: String) throws -> String {
        guard UUIDText.isValid(text) else { throw ServiceError(.badRequest, "'\(text)' is not a versioned object id: a UUID is expected") }
        return text.lowercased()
    }

    /// The object id a client put in `uid` (a UUID, or a version uid's first part).
    static func clientObjectID(_ tree: JSON) -> String? {
        guard let value = tree["uid"]?["value"]?.stringValue else { return nil }
        if let uid = ObjectVersionID(value) { return uid.objectID }
        return UUIDText.isValid(value) ? value.lowercased() : nil
    }

    static func withUID(_ tree: JSON, _ uid: ObjectVersionID) -> JSON {
        guard case .object(var object) = tree else { return tree }
        object["uid"] = ["_type": "OBJECT_VERSION_ID", "value": .string(uid.description)]
        return .object(object)
    }

    /// The canonical bytes stored for a version: the tree with its uid.
    static func storedBytes(_ tree: JSON, _ uid: ObjectVersionID) -> [UInt8] {
        JSONSerializer.bytes(withUID(tree, uid))
    }
}

/// A composition as a client sends it.
public enum CompositionInput: Sendable {
    /// Canonical JSON (or canonical XML read into it).
    case canonical(JSON)
    /// FLAT keys (STRUCTURED is read as its FLAT keys) and the template they follow.
    case flat(JSONObject, templateID: String)
}
