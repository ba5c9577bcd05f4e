import FHIR
import JSONCore
import OpenEHR
import Storage

/// Transaction entries a mapping takes (issue 15 §2, docs/architecture.md
/// §Mapped writes): a POST or PUT of a resource a loaded context takes, and a
/// PUT, PATCH or DELETE of a resource a composition is seen as, are
/// composition writes in the EHR of the resource's patient. They are
/// committed in the transaction's one database transaction with its FHIR
/// contribution and the EHRs of the Patients it writes, all or nothing; an
/// openEHR contribution belongs to one EHR (RM EHR §CONTRIBUTION), so the
/// compositions of each EHR are a contribution of their own, with the
/// transaction's committer, time and description.
extension FHIRService {
    /// The composition writes of a transaction and what each entry became.
    struct MappedTransaction {
        /// Each EHR's contribution: its id and writes, in first-write order.
        var contributions: [(ehr: EHRRecord, contributionID: String, writes: [VersionWrite])] = []
        var entries: [Written] = []
        /// Seen resources the transaction writes and deletes (referential integrity).
        var written: Set<String> = []
        var deleted: Set<String> = []
        /// The resources as sent, whose references must have targets.
        var documents: [JSON] = []
        /// What the mappings make of the entries they take (`mappedInputs`).
        var mapped = MappedInputs()

        /// An entry stored as a composition: the seen resource it writes or deletes.
        struct Written {
            var entry: BundleEntry
            var id: String
            var composition: StoredVersion
        }

        /// An entry written as a composition, with the resources it holds (each seen under its entry's id).
        mutating func record(_ entry: BundleEntry, id: String, json: JSON, held: [(entry: BundleEntry, json: JSON)], composition: StoredVersion) {
            for (written, document, writtenID) in [(entry, json, id)] + held.map({ ($0.entry, $0.json, $0.entry.id ?? "") }) {
                self.written.insert(written.reference)
                documents.append(document)
                entries.append(Written(entry: written, id: writtenID, composition: composition))
            }
        }

        /// Adds a composition write to its EHR's contribution.
        mutating func add(_ write: VersionWrite, in ehr: EHRRecord) {
            let index = contributions.firstIndex { $0.ehr.ehrID == ehr.ehrID }
            if let index { contributions[index].writes.append(write) } else { contributions.append((ehr, contributionID(for: ehr), [write])) }
        }

        /// The contribution id of an EHR's compositions (made on first use).
        mutating func contributionID(for ehr: EHRRecord) -> String {
            if let found = contributions.first(where: { $0.ehr.ehrID == ehr.ehrID }) { return found.contributionID }
            let id = UUIDText.timeOrdered()
            contributions.append((ehr, id, []))
            return id
        }

        /// The contributions to commit: each EHR must still be modifiable.
        func commits(audit: AuditRecord) -> [EHRService.StoreCommit] {
            contributions.filter { !$0.writes.isEmpty }.map { ehr, contributionID, writes in
                (ContributionRecord(contributionID: contributionID, ehrID: ehr.ehrID, patientID: ehr.patientID, audit: audit), writes, [.requireModifiable])
            }
        }
    }

    /// Takes out of `entries` those a mapping stores and plans their
    /// compositions; the entries answered without a write (a PUT that
    /// changes nothing, a DELETE of a deleted resource) get their outcome.
    /// `known`: the EHRs of the Patients the transaction writes.
    func mappedTransaction(
        _ entries: inout [BundleEntry], done: Set<Int>, known: [String: EHRRecord], committal: Committal, at now: ISODateTime
    ) async throws -> (MappedTransaction, [Int: EntryOutcome]) {
        var plan = MappedTransaction()
        var answered: [Int: EntryOutcome] = [:]
        // Only a client's id can name a seen resource (a POST's id is the server's, new).
        let targets = entries.filter { $0.method != .get && $0.method != .post && $0.id != nil && !done.contains($0.index) }.map(\.reference)
        let viewed = targets.isEmpty ? [:] : try await search.viewed(targets)
        plan.mapped = try mappedInputs(entries, done: done)
        let ready = await readyCreations(entries, done: done, viewed: Set(viewed.keys), plan.mapped, committal: committal)
        var kept: [BundleEntry] = []
        for entry in entries {
            if entry.method == .get || done.contains(entry.index) {
                kept.append(entry)
            } else if plan.mapped.holders[entry.reference] != nil {
                continue  // written with the resource that holds it
            } else if let target = viewed[entry.reference] {
                guard mapsWrites(of: entry.type) else {
                    throw Self.entryError(entry, .conflict, Self.viewedRefusal(entry.reference, composition: target.source).message)
                }
                if let outcome = try await mappedChange(entry, target, into: &plan, known: known, committal: committal, at: now) {
                    answered[entry.index] = outcome
                }
            } else if try await !mappedCreation(entry, into: &plan, known: known, committal: committal, at: now, ready: ready[entry.index]) {
                // Not stored through its mapping: what it would have held is written as sent too.
                kept.append(entry)
                kept += plan.mapped.held(by: entry)
            }
        }
        entries = kept
        return (plan, answered)
    }

    /// The POST and PUT entries a mapping takes, mapped once with the
    /// request's other resources at hand, and the entries a mapping took into
    /// another's composition (a report's results: `holders`), which are
    /// written with it and not on their own. A resource two entries take is refused.
    struct MappedInputs {
        var inputs: [Int: MappedCompositions.MappedInput] = [:]
        /// The entry (its index) whose composition holds a resource, by `Type/id`.
        var holders: [String: Int] = [:]
        /// The request's entries by `Type/id`.
        var entries: [String: BundleEntry] = [:]

        /// The entries the composition of `entry` holds, in the order the mapping took them.
        func held(by entry: BundleEntry) -> [BundleEntry] {
            (inputs[entry.index]?.followed ?? []).compactMap { holders[$0] == entry.index ? entries[$0] : nil }
        }
    }

    func mappedInputs(_ entries: [BundleEntry], done: Set<Int>) throws -> MappedInputs {
        var mapped = MappedInputs()
        let candidates = entries.filter { ($0.method == .post || $0.method == .put) && $0.resource != nil && $0.id != nil && !done.contains($0.index) }
        guard candidates.contains(where: { mapsWrites(of: $0.type) }) else { return mapped }
        for entry in candidates { mapped.entries[entry.reference] = entry }
        let pool = mapped.entries.compactMapValues(\.resource)
        for entry in candidates {
            guard let resource = entry.resource, let input = mapping(of: resource, type: entry.type, references: pool) else { continue }
            mapped.inputs[entry.index] = input
            for reference in input.followed where pool[reference] != nil && reference != entry.reference {
                if let other = mapped.holders[reference], other != entry.index {
                    throw Self.entryError(
                        entry, .unprocessable,
                        "\(reference) is held by the composition of another entry (\(entries.first { $0.index == other }?.location ?? "")): a resource is stored in one composition")
                }
                mapped.holders[reference] = entry.index
            }
        }
        return mapped
    }

    /// The resources an entry's composition holds, checked as any FHIR write's.
    func heldResources(of entry: BundleEntry, _ mapped: MappedInputs) throws -> [(entry: BundleEntry, json: JSON)] {
        try mapped.held(by: entry).map { held in
            let checked = try Self.located(held) {
                try Self.prepared(held.resource ?? .null, type: held.type, id: held.id ?? "", checks: writeChecks)
            }
            return (held, checked.json)
        }
    }

    /// The work of a creation that reads nothing the transaction writes: the
    /// resource checked, the resources it holds, its composition made and
    /// validated (`mappedPrepared`). Each stage is kept as it ended, so that
    /// `mappedCreation` meets a refusal where it did before.
    struct ReadyCreation: Sendable {
        var checked: Result<JSON, any Error>
        var held: Result<[(entry: BundleEntry, json: JSON)], any Error> = .success([])
        var prepared: Result<CompositionService.Prepared, any Error>? = nil
    }

    /// The ready work of the transaction's creations, done side by side
    /// before any entry is planned (a Bundle of many mapped resources keeps
    /// every core busy, as the FHIR entries' checks do: `inParallel`).
    func readyCreations(
        _ entries: [BundleEntry], done: Set<Int>, viewed: Set<String>, _ mapped: MappedInputs, committal: Committal
    ) async -> [Int: ReadyCreation] {
        let candidates = entries.filter { entry in
            (entry.method == .post || entry.method == .put) && entry.resource != nil && entry.id != nil && !done.contains(entry.index)
                && mapped.inputs[entry.index] != nil && mapped.holders[entry.reference] == nil && !viewed.contains(entry.reference)
        }
        guard candidates.count > 1 else { return [:] }
        return await withTaskGroup(of: (Int, ReadyCreation).self) { group in
            for entry in candidates {
                group.addTask { (entry.index, await readyCreation(entry, mapped, committal: committal)) }
            }
            var ready: [Int: ReadyCreation] = [:]
            for await (index, work) in group { ready[index] = work }
            return ready
        }
    }

    func readyCreation(_ entry: BundleEntry, _ mapped: MappedInputs, committal: Committal) async -> ReadyCreation {
        guard let resource = entry.resource, let id = entry.id, let input = mapped.inputs[entry.index] else {
            return ReadyCreation(checked: .failure(ServiceError(.badRequest, "\(entry.location) carries no resource")))
        }
        var work = ReadyCreation(checked: Result { try Self.prepared(resource, type: entry.type, id: id, checks: writeChecks).json })
        guard case .success(let checked) = work.checked else { return work }
        work.held = Result { try heldResources(of: entry, mapped) }
        guard case .success(let held) = work.held else { return work }
        do {
            work.prepared = .success(try await mappedPrepared(checked, type: entry.type, input: input, committal: committal, held: held.map(\.json)))
        } catch {
            work.prepared = .failure(error)
        }
        return work
    }

    /// A POST, or a PUT to an id nothing has, of a resource a context
    /// takes: a new composition, the resource seen under the entry's id.
    /// False when no mapping takes it (the entry stays a FHIR write).
    /// `ready`: its work done beforehand (`readyCreations`), when it was.
    func mappedCreation(
        _ entry: BundleEntry, into plan: inout MappedTransaction, known: [String: EHRRecord], committal: Committal, at now: ISODateTime,
        ready: ReadyCreation? = nil
    ) async throws -> Bool {
        // Mapped once, as sent: the check below only sets the id, which no mapping reads.
        guard let compositions, entry.method == .post || entry.method == .put, let resource = entry.resource, let id = entry.id,
            let input = plan.mapped.inputs[entry.index]
        else { return false }
        // A resource of this server's own (written before its mapping was loaded) stays a FHIR resource.
        if entry.method == .put, try await store.latestVersion(objectID: entry.reference) != nil { return false }
        if let ifMatch = entry.ifMatch {
            throw Self.entryError(entry, .preconditionFailed, "If-Match names version \(ifMatch), and \(entry.reference) does not exist")
        }
        let checked = try Self.located(entry) { try ready?.checked.get() ?? Self.prepared(resource, type: entry.type, id: id, checks: writeChecks).json }
        try await Self.located(entry) {
            let ehr = try await mappedEHR(of: checked, type: entry.type, known: known)
            let held = try ready?.held.get() ?? heldResources(of: entry, plan.mapped)
            let prepared: CompositionService.Prepared
            if let done = ready?.prepared {
                prepared = try done.get()
            } else {
                prepared = try await mappedPrepared(checked, type: entry.type, input: input, committal: committal, held: held.map(\.json))
            }
            var (write, version) = compositions.creation(
                ehr: ehr, prepared: prepared, audit: try committal.audit(systemID: systemID, at: now, defaultChange: .creation),
                contributionID: plan.contributionID(for: ehr), lifecycle: committal.lifecycleState)
            // Two conditional creates at once make one resource, as for any resource (`create(type:resource:ifNoneExist:)`);
            // so do the held entries' (a result created if none matches is held by the report's composition).
            for conditional in [entry] + held.map(\.entry) {
                if let criteria = conditional.ifNoneExist, let parsed = try? FHIRCriteriaParser.parse(type: conditional.type, query: criteria) {
                    write.conditions.append(.noFHIRMatch(parsed))
                }
            }
            plan.add(write, in: ehr)
            plan.record(entry, id: id, json: checked, held: held, composition: version)
        }
        return true
    }

    /// A PUT, PATCH or DELETE of a seen resource: a new version of its
    /// composition, or its deletion; the outcome when nothing is written.
    func mappedChange(
        _ entry: BundleEntry, _ target: ViewedResource, into plan: inout MappedTransaction, known: [String: EHRRecord], committal: Committal,
        at now: ISODateTime
    ) async throws -> EntryOutcome? {
        guard let compositions else { throw Self.entryError(entry, .unavailable, "compositions cannot be written here") }
        if let ifMatch = entry.ifMatch, ifMatch != target.versionNumber {
            throw Self.entryError(entry, .preconditionFailed, "If-Match names version \(ifMatch), the latest of \(entry.reference) is \(target.versionNumber)")
        }
        if entry.method == .delete && target.isDeleted { return EntryOutcome(status: 204) }
        if target.isDeleted { throw Self.entryError(entry, .gone, "\(entry.reference) was deleted with composition \(target.source)") }
        guard let ehrID = try await store.versionedObject(target.source)?.ehrID else {
            throw Self.entryError(entry, .notFound, "composition \(target.source) does not exist")
        }
        let ehr = try await store.existingEHR(ehrID)
        let preceding = ObjectVersionID(objectID: target.source, creatingSystemID: systemID, versionNumber: target.versionNumber).description
        if entry.method == .delete {
            let audit = try committal.audit(systemID: systemID, at: now, defaultChange: .deleted)
            let (write, version) = try await Self.located(entry) {
                try await compositions.deletion(
                    ehr: ehr, precedingVersionUID: preceding, audit: audit, contributionID: plan.contributionID(for: ehr), stale: .preconditionFailed)
            }
            plan.add(write, in: ehr)
            plan.deleted.insert(entry.reference)
            plan.entries.append(MappedTransaction.Written(entry: entry, id: target.id, composition: version))
            return nil
        }
        let sent = entry.method == .patch ? try Self.patched(ResourceVersion(target).json ?? .null, with: entry) : entry.resource ?? .null
        let checked = try Self.located(entry) {
            try Self.prepared(sent, type: entry.type, id: target.id, checks: writeChecks, unprocessable: entry.method == .patch)
        }
        // A PUT was mapped with the request (`mappedInputs`); a PATCH's resource is known only now,
        // as is the change of a resource its composition holds with another (`seenChange`).
        var change = entry.method == .put ? plan.mapped.inputs[entry.index].map { SeenChange(resource: checked.json, type: entry.type, input: $0) } : nil
        if change == nil { change = try await seenChange(to: checked.json, of: target, references: plan.mapped.entries.compactMapValues(\.resource)) }
        guard let change else {
            throw Self.entryError(entry, .conflict, Self.viewedRefusal(entry.reference, composition: target.source).message)
        }
        let input = change.input
        return try await Self.located(entry) { () async throws -> EntryOutcome? in
            try await requireSameEHR(target, try await mappedEHR(of: change.resource, type: change.type, known: known))
            let held = try heldResources(of: entry, plan.mapped)
            let heldJSON = change.held + held.map(\.json)
            if entry.method == .put, try await isUnchanged(target, change.resource, held: heldJSON) { return .unchanged(ResourceVersion(target)) }
            let composition = try await mappedComposition(
                change.resource, type: change.type, input: input, committal: committal, version: target.versionNumber + 1, held: heldJSON)
            let audit = try committal.audit(systemID: systemID, at: now, defaultChange: .modification)
            let contributionID = plan.contributionID(for: ehr)
            let (write, version) = try await refusingAsMapped(change.type, input) {
                try await compositions.modification(
                    ehr: ehr, objectID: target.source, precedingVersionUID: preceding, json: composition, audit: audit, contributionID: contributionID,
                    lifecycle: committal.lifecycleState, stale: .preconditionFailed)
            }
            plan.add(write, in: ehr)
            plan.record(entry, id: target.id, json: checked.json, held: held, composition: version)
            return nil
        }
    }

    /// The composition a mapping makes of a resource, validated against its template.
    func mappedPrepared(_ resource: JSON, type: String, input: MappedCompositions.MappedInput, committal: Committal, held: [JSON] = []) async throws
        -> CompositionService.Prepared
    {
        guard let compositions else { throw ServiceError(.unavailable, "compositions cannot be written here") }
        let composition = try await mappedComposition(resource, type: type, input: input, committal: committal, version: 1, held: held)
        return try await refusingAsMapped(type, input) { try await compositions.prepare(composition) }
    }

    /// What the mapped entries came to once committed: each seen resource
    /// as its composition now shows it (a deletion, its last version).
    func mappedOutcomes(_ plan: MappedTransaction) async throws -> [Int: EntryOutcome] {
        let shown = try await search.viewed(plan.entries.filter { $0.entry.method != .delete }.map { $0.entry.type + "/" + $0.id })
        var outcomes: [Int: EntryOutcome] = [:]
        for written in plan.entries {
            let reference = written.entry.type + "/" + written.id
            if written.entry.method == .delete {
                outcomes[written.entry.index] = EntryOutcome(
                    status: 204, version: ResourceVersion(viewed: reference, record: written.composition.record, body: []))
            } else if let viewed = shown[reference] {
                outcomes[written.entry.index] = EntryOutcome(status: written.composition.record.versionNumber == 1 ? 201 : 200, version: ResourceVersion(viewed))
            } else {
                outcomes[written.entry.index] = EntryOutcome(
                    status: 201,
                    outcome: FHIRIssue.outcome(
                        .warning, code: "informational",
                        message: "stored as composition \(written.composition.uid), whose mapping gives no \(reference) back"))
            }
        }
        return outcomes
    }

    /// The EHRs the Patients a transaction writes are linked to, made or
    /// linked in its commit (`EHRService.patientLinks`), by `Patient/{id}`.
    func patientLinks(of entries: [BundleEntry], done: Set<Int>, committal: Committal, at now: ISODateTime) async throws
        -> (commits: [EHRService.StoreCommit], ehrs: [String: EHRRecord])
    {
        let patients = entries.filter { $0.type == "Patient" && $0.id != nil && !done.contains($0.index) && [.post, .put, .patch].contains($0.method) }
        guard !patients.isEmpty else { return ([], [:]) }
        let commits = try await ehrs.patientLinks(patients.map(\.reference), audit: try committal.audit(systemID: systemID, at: now, defaultChange: .creation))
        var known: [String: EHRRecord] = [:]
        for commit in commits {
            for change in commit.ehrChanges {
                if case .create(let record) = change, let patient = record.patientID { known[patient] = record }
                if case .linkPatient(let patient) = change, let ehrID = commit.contribution.ehrID {
                    var record = try await store.existingEHR(ehrID)
                    record.patientID = patient
                    known[patient] = record
                }
            }
        }
        return (commits, known)
    }
}
