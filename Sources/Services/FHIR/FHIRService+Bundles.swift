import FHIR
import Foundation
import JSONCore
import OpenEHR
import Storage

/// Transaction and batch Bundles (R4 §http transaction, batch; §Bundle).
/// A transaction is one contribution, committed in one database
/// transaction: all its writes or none. A batch runs each entry on its own.
extension FHIRService {
    /// What one entry came to: its status (`201 Created`), the version it
    /// wrote or read, an OperationOutcome when it failed (batch).
    struct EntryOutcome: Sendable {
        var status: Int
        var version: ResourceVersion?
        var outcome: JSON?
        var resource: JSON?

        /// A PUT that changed nothing: no version written, the current one answered.
        static func unchanged(_ version: ResourceVersion) -> EntryOutcome {
            EntryOutcome(
                status: 200, version: version,
                outcome: FHIRIssue.outcome(.information, code: "informational", message: "unchanged: the resource is the current version"))
        }
    }

    /// POST to the base (R4 §transaction, §batch): the response Bundle.
    public func process(bundle: JSON, committal: Committal) async throws -> JSON {
        guard bundle["resourceType"]?.stringValue == "Bundle" else {
            throw ServiceError(.badRequest, "a request to the base is a Bundle", problems: [DecodingProblem(path: "resourceType", message: "must be Bundle")])
        }
        let type = bundle["type"]?.stringValue ?? ""
        guard type == "transaction" || type == "batch" else {
            throw ServiceError(
                .badRequest, "a Bundle posted to the base is a transaction or a batch, not '\(type)'",
                problems: [DecodingProblem(path: "Bundle.type", message: "must be transaction or batch")])
        }
        let items = bundle["entry"]?.arrayValue ?? []
        let entries = try items.enumerated().map { try BundleEntry($0.element, index: $0.offset) }
        let outcomes = type == "transaction" ? try await transaction(entries, committal: committal) : await batch(entries, committal: committal)
        return responseBundle(type: type + "-response", entries: entries, outcomes: outcomes)
    }

    // MARK: Transaction

    func transaction(_ input: [BundleEntry], committal: Committal) async throws -> [Int: EntryOutcome] {
        var entries: [BundleEntry] = []
        for entry in input { entries += try await expandedDelete(entry) }
        var outcomes: [Int: EntryOutcome] = [:]
        var references: [String: String] = [:]
        for position in entries.indices {
            try await resolveTarget(&entries[position], outcomes: &outcomes)
            if let fullUrl = entries[position].fullUrl, entries[position].id != nil {
                guard references.updateValue(entries[position].reference, forKey: fullUrl) == nil else {
                    throw Self.entryError(entries[position], .badRequest, "fullUrl \(fullUrl) is given to two entries")
                }
            }
        }
        try Self.requireDistinctTargets(entries)
        try await resolveReferences(&entries, references)
        let now = ISODateTime.now()
        let links = try await patientLinks(of: entries, done: Set(outcomes.keys), committal: committal, at: now)
        // Entries a mapping takes are compositions (FHIRService+MappedTransactions); the others FHIR resources.
        let (mapped, answered) = try await mappedTransaction(&entries, done: Set(outcomes.keys), known: links.ehrs, committal: committal, at: now)
        outcomes.merge(answered) { $1 }
        let contributionID = UUIDText.timeOrdered()
        let (writes, written) = try await plannedWrites(entries, skipping: Set(outcomes.keys), committal: committal, contributionID: contributionID, at: now)
        outcomes.merge(written) { $1 }
        try await requireIntegrity(of: writes, mapped: mapped)
        try await commitTransaction(writes, contributionID: contributionID, committal: committal, at: now, links: links.commits, mapped: mapped)
        if !mapped.entries.isEmpty { outcomes.merge(try await mappedOutcomes(mapped)) { $1 } }
        for entry in entries where entry.method == .get { outcomes[entry.index] = await readOutcome(entry) }
        return outcomes
    }

    /// A conditional DELETE entry whose criteria match several resources,
    /// when the server deletes them all (`conditionalDelete` multiple, R4
    /// §delete): one entry per match, each by id, all in the transaction's
    /// one contribution; the response still has one entry for it. More than
    /// `conditionalDeleteLimit` is 412. Any other entry is itself.
    func expandedDelete(_ entry: BundleEntry) async throws -> [BundleEntry] {
        guard entry.method == .delete, let criteria = entry.criteria, conditionalDelete == .multiple else { return [entry] }
        let found = try await search.matches(FHIRCriteriaParser.parse(type: entry.type, query: criteria), limit: Self.conditionalDeleteLimit + 1)
        guard found.count <= Self.conditionalDeleteLimit else {
            throw Self.entryError(entry, .preconditionFailed, "the criteria '\(criteria)' match more than \(Self.conditionalDeleteLimit) \(entry.type) resources: narrow them")
        }
        guard found.count > 1 else { return [entry] }
        return found.map { reference in
            var match = entry
            match.criteria = nil
            match.fullUrl = nil
            match.id = Self.id(of: reference, type: entry.type)
            return match
        }
    }

    /// The id of a search match (`Type/id`, as `search.matches` gives it) of `type`.
    static func id(of reference: String, type: String) -> String {
        String(reference.dropFirst(type.count + 1))
    }

    /// Referential integrity across a transaction: its resources may refer to
    /// each other; what it deletes may be referred to only by what it deletes too.
    /// Seen resources its mapped entries write or delete count as its own.
    func requireIntegrity(of writes: [VersionWrite], mapped: MappedTransaction) async throws {
        let deleted = Set(writes.filter { $0.record.lifecycleState == VersionLifecycleState.deleted.rawValue }.map(\.record.objectID))
            .union(mapped.deleted)
        let stored = Set(writes.map(\.record.objectID)).union(mapped.written).subtracting(deleted)
        try await requireTargets(of: writes.compactMap(\.document) + mapped.documents, except: stored)
        try await requireUnreferenced(deleted.sorted(), except: deleted)
    }

    /// The writes of the transaction, in R4's order (DELETE, POST, PUT and
    /// PATCH), and each entry's outcome: the current versions of every target
    /// read at once, the resources checked side by side.
    func plannedWrites(_ entries: [BundleEntry], skipping done: Set<Int>, committal: Committal, contributionID: String, at now: ISODateTime)
        async throws -> ([VersionWrite], [Int: EntryOutcome])
    {
        let ordered = entries.sorted { ($0.method.order, $0.index) < ($1.method.order, $1.index) }.filter { $0.method != .get && !done.contains($0.index) }
        let latest = try await store.latestVersions(objectIDs: ordered.compactMap { $0.id == nil ? nil : $0.reference })
        var outcomes: [Int: EntryOutcome] = [:]
        var slots: [VersionWrite?] = Array(repeating: nil, count: ordered.count)
        var jobs: [(position: Int, entry: BundleEntry, resource: JSON, latest: VersionRecord?, audit: AuditRecord)] = []
        for (position, entry) in ordered.enumerated() {
            let change: AuditChangeType = entry.method == .delete ? .deleted : entry.method == .post ? .creation : .modification
            let audit = try committal.audit(systemID: systemID, at: now, defaultChange: change)
            switch try Self.step(entry, latest: latest[entry.reference]) {
            case .nothing:
                outcomes[entry.index] = EntryOutcome(status: 204)
            case .deletion(let current):
                let (write, version) = Self.versionWrite(
                    nil, type: entry.type, id: entry.id ?? "", preceding: current.versionNumber, audit: audit, contributionID: contributionID,
                    patientID: current.patientID)
                slots[position] = write
                outcomes[entry.index] = EntryOutcome(status: 204, version: version)
            case .resource(let resource, let current):
                jobs.append((position, entry, resource, current, audit))
            }
        }
        let checks = writeChecks
        let results = try await Self.inParallel(jobs) { job in
            try Self.written(job.entry, job.resource, latest: job.latest, audit: job.audit, contributionID: contributionID, checks: checks)
        }
        for (job, (write, outcome)) in zip(jobs, results) {
            slots[job.position] = write
            outcomes[job.entry.index] = outcome
        }
        return (slots.compactMap { $0 }, outcomes)
    }

    /// The entry's target: an id for a POST (the server's, or the match of
    /// `ifNoneExist`, then answered as it is), the match of a conditional
    /// PUT or DELETE (none: a PUT creates, a DELETE does nothing).
    func resolveTarget(_ entry: inout BundleEntry, outcomes: inout [Int: EntryOutcome]) async throws {
        switch entry.method {
        case .post:
            if let criteria = entry.ifNoneExist {
                let found = try await search.matches(FHIRCriteriaParser.parse(type: entry.type, query: criteria), limit: 2)
                if found.count > 1 { throw Self.entryError(entry, .preconditionFailed, "ifNoneExist '\(criteria)' matches more than one \(entry.type)") }
                if let match = found.first {
                    let version = try await read(reference: match)
                    entry.id = version.id
                    outcomes[entry.index] = EntryOutcome(status: 200, version: version)
                    return
                }
            }
            entry.id = UUIDText.random()
        case .put, .delete:
            guard let criteria = entry.criteria else {
                try Self.requireID(entry.id ?? "")
                return
            }
            let found = try await search.matches(FHIRCriteriaParser.parse(type: entry.type, query: criteria), limit: 2)
            if found.count > 1 { throw Self.entryError(entry, .preconditionFailed, "the criteria '\(criteria)' match more than one \(entry.type)") }
            entry.id = found.first.map { Self.id(of: $0, type: entry.type) } ?? (entry.method == .put ? entry.resource?["id"]?.stringValue ?? UUIDText.random() : nil)
            if entry.method == .delete, entry.id == nil { outcomes[entry.index] = EntryOutcome(status: 204) }
        case .patch, .get:
            try Self.requireType(entry.type)
        }
    }

    /// R4 §transaction: no two entries may act on one resource.
    static func requireDistinctTargets(_ entries: [BundleEntry]) throws {
        var seen: [String: Int] = [:]
        for entry in entries where entry.method != .get && entry.id != nil {
            if let other = seen.updateValue(entry.index, forKey: entry.reference) {
                throw entryError(entry, .badRequest, "entries \(other) and \(entry.index) both act on \(entry.reference)")
            }
        }
    }

    /// Rewrites every reference: to an entry's `fullUrl` (a `urn:uuid:` or
    /// a URL) as the entry's `Type/id`, and each conditional reference
    /// (`Type?criteria`) as the one resource it matches (none or several
    /// fail the transaction, naming the entry).
    func resolveReferences(_ entries: inout [BundleEntry], _ fullUrls: [String: String]) async throws {
        var map = fullUrls
        for position in entries.indices {
            guard let resource = entries[position].resource else { continue }
            var found: Set<String> = []
            BundleReferences.all(resource, into: &found)
            for reference in found.sorted() where map[reference] == nil {
                if reference.hasPrefix("urn:uuid:") || reference.hasPrefix("urn:oid:") {
                    throw Self.entryError(entries[position], .badRequest, "the reference \(reference) names no entry of this Bundle")
                }
                guard let type = BundleReferences.conditionalType(of: reference) else { continue }
                let matches = try await resolve(reference)
                guard matches.count == 1 else {
                    throw Self.entryError(
                        entries[position], .preconditionFailed,
                        "the conditional reference \(reference) matches \(matches.isEmpty ? "no" : "more than one") \(type)")
                }
                map[reference] = matches[0]
            }
            entries[position].resource = BundleReferences.rewrite(resource, map)
        }
    }

    /// What an entry asks to write, once its current version is known.
    enum Step: Sendable {
        case nothing
        case deletion(VersionRecord)
        case resource(JSON, latest: VersionRecord?)
    }

    /// The entry's step, checked against its current version (`ifMatch`, a
    /// resource of this server, something to delete or patch); no I/O.
    static func step(_ entry: BundleEntry, latest: VersionRecord?) throws -> Step {
        let objectID = entry.reference
        do {
            try requireCurrent(objectID, latest: latest, ifMatch: entry.ifMatch)
        } catch let error as ServiceError {
            throw entryError(entry, error.kind, error.message)
        }
        let isDeleted = latest?.lifecycleState == VersionLifecycleState.deleted.rawValue
        switch entry.method {
        case .delete:
            guard let latest, !isDeleted else { return .nothing }
            return .deletion(latest)
        case .patch:
            guard let latest, !isDeleted, let current = try? JSONParser.parse(latest.data) else {
                throw entryError(entry, .notFound, "\(objectID) does not exist to be patched")
            }
            return .resource(try patched(current, with: entry), latest: latest)
        case .post, .put: return .resource(entry.resource ?? .null, latest: latest)
        case .get: return .nothing
        }
    }

    /// The version an entry writes: its resource checked (problems located in
    /// the Bundle), nothing when a PUT changes nothing; no I/O, so entries
    /// are checked side by side (`inParallel`).
    static func written(
        _ entry: BundleEntry, _ resource: JSON, latest: VersionRecord?, audit: AuditRecord, contributionID: String, checks: WriteChecks
    ) throws
        -> (VersionWrite?, EntryOutcome)
    {
        let id = entry.id ?? ""
        let checked: JSON = try located(entry) {
            try Self.prepared(resource, type: entry.type, id: id, checks: checks, unprocessable: entry.method == .patch).json
        }
        let isDeleted = latest?.lifecycleState == VersionLifecycleState.deleted.rawValue
        if entry.method == .put, let latest, !isDeleted, sameContent(latest.data, checked) {
            return (nil, .unchanged(ResourceVersion(latest)))
        }
        let conditions: [CommitCondition] =
            entry.ifNoneExist.flatMap { try? FHIRCriteriaParser.parse(type: entry.type, query: $0) }.map { [.noFHIRMatch($0)] } ?? []
        let (write, version) = versionWrite(
            checked, type: entry.type, id: id, preceding: latest?.versionNumber, audit: audit, contributionID: contributionID, conditions: conditions)
        return (write, EntryOutcome(status: latest == nil ? 201 : 200, version: version))
    }

    /// Runs `work` on every item, on as many tasks as there are cores, and
    /// gives the results in the items' order; the first item's error (in
    /// that order) is thrown, whichever finished first.
    static func inParallel<Item: Sendable, Output: Sendable>(_ items: [Item], _ work: @escaping @Sendable (Item) throws -> Output) async throws -> [Output] {
        let lanes = max(1, min(ProcessInfo.processInfo.activeProcessorCount, items.count / 16))
        guard lanes > 1 else { return try items.map(work) }
        let results = await withTaskGroup(of: [(Int, Result<Output, any Error>)].self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    stride(from: lane, to: items.count, by: lanes).map { index in (index, Result { try work(items[index]) }) }
                }
            }
            var all: [(Int, Result<Output, any Error>)] = []
            for await part in group { all += part }
            return all.sorted { $0.0 < $1.0 }
        }
        return try results.map { try $0.1.get() }
    }

    /// Whether a stored version holds `resource`, `meta.versionId` and `meta.lastUpdated` aside.
    static func sameContent(_ stored: [UInt8], _ resource: JSON) -> Bool {
        guard let current = try? JSONParser.parse(stored) else { return false }
        return withoutVersionMeta(current) == withoutVersionMeta(resource)
    }

    /// A resource without the `meta.versionId` and `meta.lastUpdated` the server gives it.
    static func withoutVersionMeta(_ json: JSON) -> JSON {
        guard case .object(var object) = json else { return json }
        if case .object(var meta)? = object["meta"] {
            meta["versionId"] = nil
            meta["lastUpdated"] = nil
            if meta.isEmpty { object["meta"] = Optional<JSON>.none } else { object["meta"] = .object(meta) }
        }
        return .object(object)
    }

    /// A PATCH entry's resource: a Parameters (FHIRPath Patch) or a Binary holding a JSON Patch.
    static func patched(_ current: JSON, with entry: BundleEntry) throws -> JSON {
        guard let body = entry.resource else { throw entryError(entry, .badRequest, "a PATCH carries its patch") }
        let document: JSON? = body["resourceType"]?.stringValue == "Parameters" ? Optional<JSON>.none : try jsonPatch(of: entry)
        do throws(PatchError) {
            if let document { return try JSONPatch.apply(document, to: current) }
            return try FHIRPathPatch.apply(body, to: current)
        } catch {
            throw entryError(entry, .unprocessable, "the patch cannot be applied: \(error)")
        }
    }

    /// Commits the transaction's writes as one contribution, with the EHRs
    /// of its Patients and the contributions of its mapped entries, in one
    /// database transaction; a store refusal names no entry but fails all.
    func commitTransaction(
        _ writes: [VersionWrite], contributionID: String, committal: Committal, at now: ISODateTime, links: [EHRService.StoreCommit],
        mapped: MappedTransaction
    ) async throws {
        let audit = try committal.audit(systemID: systemID, at: now, defaultChange: .creation)
        let patients = Set(writes.map { $0.record.patientID })
        let contribution = ContributionRecord(
            contributionID: contributionID, ehrID: nil, patientID: patients.count == 1 ? patients.first ?? nil : nil, audit: audit)
        let batch = (writes.isEmpty ? [] : [(contribution, writes, [])]) + links + mapped.commits(audit: audit)
        guard !batch.isEmpty else { return }
        do {
            try await commit(batch)
        } catch let error as StoreError {
            var mapped = ServiceError(error)
            mapped.message = "the transaction was not committed: " + mapped.message
            throw mapped
        }
    }

    func readOutcome(_ entry: BundleEntry) async -> EntryOutcome {
        do {
            let version =
                if let versionID = entry.versionID { try await vread(type: entry.type, id: entry.id ?? "", versionID: versionID) } else {
                    try await read(type: entry.type, id: entry.id ?? "")
                }
            return EntryOutcome(status: 200, version: version, resource: version.json)
        } catch let error as ServiceError {
            return Self.failure(error)
        } catch {
            return EntryOutcome(status: 500, outcome: Self.outcome("\(error)"))
        }
    }

    // MARK: Batch

    /// Each entry on its own (R4 §batch), in order; a failure is that entry's response.
    func batch(_ entries: [BundleEntry], committal: Committal) async -> [Int: EntryOutcome] {
        var outcomes: [Int: EntryOutcome] = [:]
        for entry in entries {
            do {
                outcomes[entry.index] = try await batchEntry(entry, committal: committal)
            } catch let error as ServiceError {
                outcomes[entry.index] = Self.failure(error)
            } catch {
                outcomes[entry.index] = EntryOutcome(status: 500, outcome: Self.outcome("\(error)"))
            }
        }
        return outcomes
    }

    func batchEntry(_ input: BundleEntry, committal: Committal) async throws -> EntryOutcome {
        var entry = input
        if let resource = entry.resource {
            var found: Set<String> = []
            BundleReferences.all(resource, into: &found)
            var map: [String: String] = [:]
            for reference in found where BundleReferences.conditionalType(of: reference) != nil {
                let matches = try await resolve(reference)
                guard matches.count == 1 else {
                    throw ServiceError(.preconditionFailed, "the conditional reference \(reference) matches \(matches.isEmpty ? "nothing" : "more than one resource")")
                }
                map[reference] = matches[0]
            }
            entry.resource = BundleReferences.rewrite(resource, map)
        }
        switch entry.method {
        case .get: return await readOutcome(entry)
        case .post:
            if let criteria = entry.ifNoneExist {
                let (version, created) = try await create(type: entry.type, resource: entry.resource ?? .null, ifNoneExist: criteria, committal: committal)
                return EntryOutcome(status: created ? 201 : 200, version: version)
            }
            return EntryOutcome(status: 201, version: try await create(type: entry.type, resource: entry.resource ?? .null, committal: committal))
        case .put:
            let (version, created) =
                if let criteria = entry.criteria {
                    try await update(type: entry.type, criteria: criteria, resource: entry.resource ?? .null, committal: committal)
                } else {
                    try await update(type: entry.type, id: entry.id ?? "", resource: entry.resource ?? .null, ifMatch: entry.ifMatch, committal: committal)
                }
            return EntryOutcome(status: created ? 201 : 200, version: version)
        case .patch:
            let body = entry.resource ?? .null
            let patch: Patch = body["resourceType"]?.stringValue == "Parameters" ? .fhirPath(body) : .json(try Self.jsonPatch(of: entry))
            return EntryOutcome(status: 200, version: try await self.patch(type: entry.type, id: entry.id ?? "", patch: patch, ifMatch: entry.ifMatch, committal: committal))
        case .delete:
            let deleted =
                if let criteria = entry.criteria { try await delete(type: entry.type, criteria: criteria, committal: committal) } else {
                    try await delete(type: entry.type, id: entry.id ?? "", committal: committal).map { [$0] } ?? []
                }
            return EntryOutcome(status: 204, version: deleted.count == 1 ? deleted.first : nil)
        }
    }

    /// The JSON Patch a Binary of `application/json-patch+json` holds (R4 §transaction PATCH).
    static func jsonPatch(of entry: BundleEntry) throws -> JSON {
        guard entry.resource?["resourceType"]?.stringValue == "Binary", entry.resource?["contentType"]?.stringValue == "application/json-patch+json",
            let data = entry.resource?["data"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), let patch = try? JSONParser.parse(Array(data)) else {
            throw entryError(entry, .badRequest, "a PATCH entry is a Parameters resource or a Binary of application/json-patch+json")
        }
        return patch
    }

    // MARK: Response

    func responseBundle(type: String, entries: [BundleEntry], outcomes: [Int: EntryOutcome]) -> JSON {
        let items: [JSON] = entries.map { entry in
            let outcome = outcomes[entry.index] ?? EntryOutcome(status: 204)
            var response = JSONObject([("status", .string(Self.statusLine(outcome.status)))])
            if let version = outcome.version {
                if entry.method != .delete && entry.method != .get { response["location"] = .string("\(version.reference)/_history/\(version.versionID)") }
                response["etag"] = .string("W/\"\(version.versionID)\"")
                response["lastModified"] = .string(version.lastUpdated.description)
            }
            if let outcome = outcome.outcome { response["outcome"] = outcome }
            var item = JSONObject()
            if let version = outcome.version { item["fullUrl"] = .string(version.reference) }
            if let resource = outcome.resource { item["resource"] = resource }
            item["response"] = .object(response)
            return .object(item)
        }
        return .object(JSONObject([
            ("resourceType", "Bundle"), ("id", .string(UUIDText.random())), ("type", .string(type)), ("entry", .array(items)),
        ]))
    }

    /// A failed entry of a batch (or a GET of a transaction): its status and OperationOutcome.
    static func failure(_ error: ServiceError) -> EntryOutcome {
        EntryOutcome(
            status: error.kind.statusCode,
            outcome: FHIRIssue.outcome(.error, code: "processing", message: error.message, problems: error.problems.map { ($0.path, $0.message) }))
    }

    static func outcome(_ message: String) -> JSON { FHIRIssue.outcome(.error, code: "exception", message: message) }

    /// `201 Created`: the status line of a response entry (R4 §Bundle.entry.response.status).
    static func statusLine(_ status: Int) -> String {
        let phrases = [200: "OK", 201: "Created", 204: "No Content"]
        let kind = ServiceError.Kind.allCases.first { $0.statusCode == status }
        return "\(status) \(phrases[status] ?? kind?.reasonPhrase ?? "Internal Server Error")"
    }

    /// A refusal naming the entry, for a transaction that fails as a whole.
    static func entryError(_ entry: BundleEntry, _ kind: ServiceError.Kind, _ message: String) -> ServiceError {
        ServiceError(kind, "\(entry.location) (\(entry.method.rawValue) \(entry.type)): \(message)", problems: [DecodingProblem(path: entry.location, message: message)])
    }

    /// Runs a check of the entry's resource, its problems located in the Bundle.
    static func located<T>(_ entry: BundleEntry, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ServiceError {
            throw located(entry, error)
        }
    }

    /// The same, for work that waits (a mapped entry's composition).
    static func located<T>(_ entry: BundleEntry, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ServiceError {
            throw located(entry, error)
        }
    }

    /// A refusal of an entry's resource, each FHIR problem at its place in
    /// the Bundle (an openEHR path, which a mapped entry's refusal names, as it is).
    static func located(_ entry: BundleEntry, _ refusal: ServiceError) -> ServiceError {
        var error = refusal
        error.message = "\(entry.location): " + error.message
        error.problems = error.problems.map { problem in
            if problem.path.hasPrefix("openEHR ") { return problem }
            let path = problem.path.hasPrefix(entry.type) ? String(problem.path.dropFirst(entry.type.count)) : "." + problem.path
            return DecodingProblem(path: "\(entry.location).resource" + path, message: problem.message)
        }
        return error
    }
}
