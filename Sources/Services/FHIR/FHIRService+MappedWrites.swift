import JSONCore
import OpenEHR
import Storage

/// Mapped writes (issue 15 §2, docs/architecture.md §Mapped writes): a FHIR
/// resource a loaded context takes is stored as a composition of its
/// template in the EHR of its patient, validated like any openEHR write,
/// with the resource as sent kept as the composition's original content;
/// what the client reads back is the composition seen through the mapping.
extension FHIRService {
    var mappedCompositions: MappedCompositions? { compositionView as? MappedCompositions }

    /// Whether a loaded context may store resources of this type as compositions.
    func mapsWrites(of type: String) -> Bool { compositions != nil && mappedCompositions?.mapsType(type) == true }

    /// The composition a mapping makes of `resource`, when one takes it;
    /// `references`: the request's other resources, by `Type/id`, which a
    /// reference mapping may take into the same composition.
    func mapping(of resource: JSON, type: String, references: [String: JSON] = [:]) -> MappedCompositions.MappedInput? {
        guard mapsWrites(of: type) else { return nil }
        return mappedCompositions?.mapped(resource, references: references)
    }

    /// create through a mapping: a new composition; the resource as it reads back.
    func createMapped(
        _ resource: JSON, type: String, input: MappedCompositions.MappedInput, committal: Committal, conditions: [CommitCondition] = []
    ) async throws -> ResourceVersion {
        guard let compositions else { throw ServiceError(.unavailable, "compositions cannot be written here") }
        let ehr = try await mappedEHR(of: resource, type: type)
        let composition = try await mappedComposition(resource, type: type, input: input, committal: committal, version: 1)
        let version = try await refusingAsMapped(type, input) {
            try await compositions.create(ehrID: ehr.ehrID, input: .canonical(composition), committal: committal, conditions: conditions)
        }
        return try await seen(type: type, id: resource["id"]?.stringValue, composition: version)
    }

    /// What a change to a seen resource writes to its composition: the
    /// resource mapped again; or, for a resource the composition holds with
    /// another (a report's result, which no context takes alone), that other
    /// resource mapped again with the changed one among the composition's
    /// resources (the report's composition gets a new version, in which the
    /// result reads as sent). Nil when neither maps it.
    struct SeenChange {
        var resource: JSON
        var type: String
        var input: MappedCompositions.MappedInput
        var held: [JSON] = []
    }

    /// The change a new content of `viewed` makes (`references`: the other resources of the request).
    func seenChange(to resource: JSON, of viewed: ViewedResource, references: [String: JSON] = [:]) async throws -> SeenChange? {
        if let input = mapping(of: resource, type: viewed.type, references: references) {
            return SeenChange(resource: resource, type: viewed.type, input: input)
        }
        let reference = viewed.type + "/" + viewed.id
        let siblings = try await search.viewed(source: viewed.source).filter { !$0.isDeleted && $0.type + "/" + $0.id != reference }
        var pool = [reference: resource]
        var holders: [(type: String, json: JSON)] = []
        for sibling in siblings {
            guard let parsed = try? JSONParser.parse(sibling.body) else { continue }
            let json = Self.withoutVersionMeta(parsed)
            pool[sibling.type + "/" + sibling.id] = json
            if mapsWrites(of: sibling.type) { holders.append((sibling.type, json)) }
        }
        for holder in holders {
            guard let input = mapping(of: holder.json, type: holder.type, references: pool), input.followed.contains(reference) else { continue }
            let own = holder.type + "/" + (holder.json["id"]?.stringValue ?? "")
            return SeenChange(resource: holder.json, type: holder.type, input: input, held: input.followed.filter { $0 != own }.compactMap { pool[$0] })
        }
        return nil
    }

    /// update through a mapping: a new version of the composition the
    /// resource is seen from. Its patient cannot change (the EHR holds it).
    func updateMapped(_ change: SeenChange, viewed: ViewedResource, ifMatch: Int?, committal: Committal) async throws -> ResourceVersion {
        guard let compositions else { throw ServiceError(.unavailable, "compositions cannot be written here") }
        let reference = viewed.type + "/" + viewed.id
        if let ifMatch, ifMatch != viewed.versionNumber {
            throw ServiceError(.preconditionFailed, "If-Match names version \(ifMatch), the latest of \(reference) is \(viewed.versionNumber)")
        }
        if viewed.isDeleted { throw ServiceError(.gone, "\(reference) was deleted with composition \(viewed.source)") }
        let ehr = try await mappedEHR(of: change.resource, type: change.type)
        try await requireSameEHR(viewed, ehr)
        if try await isUnchanged(viewed, change.resource, held: change.held) { return ResourceVersion(viewed) }
        let composition = try await mappedComposition(
            change.resource, type: change.type, input: change.input, committal: committal, version: viewed.versionNumber + 1, held: change.held)
        let preceding = ObjectVersionID(objectID: viewed.source, creatingSystemID: compositions.systemID, versionNumber: viewed.versionNumber)
        let version = try await refusingAsMapped(change.type, change.input) {
            try await compositions.update(
                ehrID: ehr.ehrID, versionedObjectID: viewed.source, precedingVersionUID: preceding.description, input: .canonical(composition),
                committal: committal)
        }
        return try await seen(type: viewed.type, id: viewed.id, composition: version)
    }

    /// delete through a mapping: the composition deleted (a new version whose lifecycle state is deleted).
    func deleteMapped(_ viewed: ViewedResource, committal: Committal) async throws -> ResourceVersion? {
        guard let compositions else { throw ServiceError(.unavailable, "compositions cannot be written here") }
        guard !viewed.isDeleted, let ehrID = try await store.versionedObject(viewed.source)?.ehrID else { return nil }
        try await requireUnreferenced([viewed.type + "/" + viewed.id])
        let version = try await compositions.delete(ehrID: ehrID, uid: viewed.source, ifMatch: nil, committal: committal)
        return ResourceVersion(viewed: viewed.type + "/" + viewed.id, record: version.record, body: [])
    }

    /// A seen resource's patient cannot change: its composition stays in its EHR.
    func requireSameEHR(_ viewed: ViewedResource, _ ehr: EHRRecord) async throws {
        guard try await store.versionedObject(viewed.source)?.ehrID == ehr.ehrID else {
            throw ServiceError(.unprocessable, "\(viewed.type)/\(viewed.id) is about \(viewed.patientID ?? "another patient"): its patient cannot change")
        }
    }

    /// Whether an update sends what the composition keeps as sent
    /// (`meta.versionId` and `meta.lastUpdated` aside) and the composition is
    /// still the version that write made (no openEHR edit since): such a PUT
    /// writes no version, as for any resource (a second import of the same data).
    func isUnchanged(_ viewed: ViewedResource, _ resource: JSON, held: [JSON] = []) async throws -> Bool {
        guard let latest = try await store.latestVersion(objectID: viewed.source), let composition = try? JSONParser.parse(latest.data),
            let original = MappedCompositions.original(of: composition),
            MappedCompositions.originalVersion(of: composition) == latest.versionNumber
        else { return false }
        return Self.sameContent(JSONSerializer.bytes(original), MappedCompositions.originalContent(resource, with: held))
    }

    /// The EHR a mapped resource goes to: its patient's (R4 Patient
    /// compartment), which every Patient written here has (`known`: the
    /// EHRs of the Patients a transaction writes, made in its commit).
    func mappedEHR(of resource: JSON, type: String, known: [String: EHRRecord] = [:]) async throws -> EHRRecord {
        guard let patient = Self.patient(of: resource) else {
            throw ServiceError(
                .unprocessable, "the \(type) is stored as an openEHR composition, in its patient's EHR: it must name its patient (subject)",
                problems: [DecodingProblem(path: "\(type).subject", message: "a reference to the Patient is required")])
        }
        var found = known[patient]
        if found == nil { found = try await store.ehr(patientID: patient) }
        guard let ehr = found else {
            throw ServiceError(
                .unprocessable, "\(patient) has no EHR to store the \(type) in: write the Patient first",
                problems: [DecodingProblem(path: "\(type).subject", message: "\(patient) is not a Patient of this server")])
        }
        return ehr
    }

    /// The composition: the mapping's FLAT read through the template (the
    /// committer as composer, the resource's language when it has one), the
    /// resource as sent in its feeder audit.
    /// `version`: the composition version it will be, which the feeder audit records (`isUnchanged`).
    /// `held`: the resources of the request the mapping took in with it (a report's results), kept as sent too.
    func mappedComposition(
        _ resource: JSON, type: String, input: MappedCompositions.MappedInput, committal: Committal, version: Int, held: [JSON] = []
    ) async throws -> JSON {
        guard let compositions else { throw ServiceError(.unavailable, "compositions cannot be written here") }
        try Self.requireHeld(input, type: type)
        var flat = input.flat
        if !flat.keys.contains(where: { $0.hasPrefix("ctx/composer") || $0.hasSuffix("/composer|name") }) {
            flat["ctx/composer_name"] = .string(committal.committer.name ?? "FHIR client")
        }
        if flat["ctx/language"] == nil, let language = resource["language"]?.stringValue?.split(separator: "-").first {
            flat["ctx/language"] = .string(String(language))
        }
        // The times the mapping leaves open (the context's start, each history's origin) are the
        // resource's earliest event time, not this write's: an import of old data keeps its dates.
        if flat["ctx/time"] == nil, !flat.keys.contains(where: { $0.hasSuffix("/context/start_time") }), let time = Self.earliestEventTime(flat) {
            flat["ctx/time"] = .string(time)
        }
        let canonical = try await refusingAsMapped(type, input) {
            try await compositions.canonical(.flat(flat, templateID: input.templateID))
        }
        guard case .object(var composition) = canonical else { return canonical }
        composition["feeder_audit"] = MappedCompositions.feederAudit(
            MappedCompositions.originalContent(resource, with: held), systemID: systemID, version: version)
        return .object(composition)
    }

    /// A mapping that takes the resources a reference names into the
    /// composition (a report's results) needs them in the same request:
    /// stored elsewhere, they would be lost from the composition (422).
    static func requireHeld(_ input: MappedCompositions.MappedInput, type: String) throws {
        guard !input.unresolved.isEmpty else { return }
        let names = input.unresolved.joined(separator: ", ")
        throw ServiceError(
            .unprocessable,
            "the \(type) is stored as one composition of template '\(input.templateID)' (mapping '\(input.context)') with the resources it names, "
                + "which must be sent with it in one transaction: \(names) is not in this request",
            problems: input.unresolved.map { DecodingProblem(path: type, message: "\($0) is not in the request") })
    }

    /// The earliest of the event times (`…/time` leaves) of a FLAT composition, as written.
    static func earliestEventTime(_ flat: JSONObject) -> String? {
        flat.members.compactMap { member -> (ISODateTime, String)? in
            guard member.key.hasSuffix("/time"), !member.key.hasPrefix("ctx/"), let text = member.value.stringValue, let time = ISODateTime(text) else { return nil }
            return (time, text)
        }.min { $0.0 < $1.0 }?.1
    }

    /// A refusal of the composition said as the FHIR write's: which
    /// template and context, each problem at its openEHR path, and what the
    /// mapping left out.
    func refusingAsMapped<T>(_ type: String, _ input: MappedCompositions.MappedInput, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch var error as ServiceError where error.kind == .unprocessable || error.kind == .badRequest {
            error.kind = .unprocessable
            error.message = "the \(type) is stored as a composition of template '\(input.templateID)' (mapping '\(input.context)'): " + error.message
            // Each problem at its openEHR path, with the FHIR element the mapping took it from when one did.
            error.problems = error.problems.flatMap { problem -> [DecodingProblem] in
                let openEHR = DecodingProblem(path: "openEHR " + problem.path, message: problem.message)
                guard let element = mappedCompositions?.fhirElement(of: problem.path, context: input.context, resourceType: type) else { return [openEHR] }
                return [DecodingProblem(path: element, message: problem.message + " (openEHR \(problem.path))"), openEHR]
            } + input.notes.map { DecodingProblem(path: type, message: "not mapped: " + $0) }
            throw error
        }
    }

    /// The resource of this type (of this id, when given) a composition version is seen as.
    func seen(type: String, id: String?, composition version: StoredVersion) async throws -> ResourceVersion {
        let resources = try await search.viewed(source: version.record.objectID)
        guard let viewed = resources.first(where: { $0.type == type && (id == nil || $0.id == id) }) ?? resources.first(where: { $0.type == type })
        else {
            throw ServiceError(.unprocessable, "the composition \(version.uid) was stored but its mapping gives no \(type) back")
        }
        return ResourceVersion(viewed)
    }
}
