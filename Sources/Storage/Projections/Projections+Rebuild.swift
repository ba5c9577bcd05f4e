import JSONCore
import OpenEHR

extension Projections {
    /// Rebuilds a projection from the stored versions: the latest version of
    /// each versioned object it follows, streamed in pages of `pageSize` in
    /// the order the objects were created (so that the rebuilt rows lie in
    /// about the order the commits wrote them: a time window reads fewer
    /// pages; in object id order the population query of `socle bench aql`
    /// took 61 ms instead of 49), each page one transaction that also records how far
    /// the rebuild got (so another process can resume it) and checks that no
    /// commit replaced one of its versions meanwhile (a commit that did has
    /// already written that object's rows: the page is read again).
    ///
    /// - Parameters:
    ///   - owner: who rebuilds (a process id), recorded in the catalog.
    ///   - force: start over with fresh tables even when the projection is
    ///     current or another process is building it (`socle reindex`);
    ///     otherwise only a stale projection, or a rebuild abandoned by its
    ///     owner, is taken up, from where it stopped.
    /// - Returns: false when there was nothing this caller may rebuild.
    @discardableResult
    public func rebuild(
        _ name: String, owner: String, force: Bool, progress: @Sendable (ProjectionState) -> Void = { _ in }
    ) async throws -> Bool {
        let projection = try projection(name)
        guard try await claim(projection, owner: owner, force: force) else { return false }
        guard var state = try await state(name) else { return false }
        var cursor = RebuildCursor(try await database.query("SELECT cursor FROM projection WHERE name = ?", [.text(name)]).first?.string(0))
        progress(state)
        while true {
            try Task.checkCancellation()
            let (page, last) = try await latestVersions(of: projection, after: cursor)
            guard let last else { break }
            do {
                try await database.transaction(try statements(projection, page, cursor: last, owner: owner))
            } catch let error as StoreError where error.code == .changed {
                continue  // a commit replaced a version of this page: read it again
            }
            cursor = last
            state.done += page.count
            progress(state)
        }
        // Fresh tables have no planner statistics: without them SQLite drives
        // a patient's query from a value index (150 ms instead of 2 ms, measured).
        let position = try await analyze(projection)
        try await database.transaction([
            SQLStatement(
                """
                UPDATE projection SET state = 'current', cursor = NULL, owner = NULL, heartbeat = NULL, analyzed_position = ?, updated_at = ?
                WHERE name = ? AND owner = ?
                """,
                [.integer(position), .integer(ISODateTime.now().microsecondsSinceEpoch), .text(name), .text(owner)],
                mustChangeOneRow: StoreError(.conflict, "the rebuild of \(name) was taken over by another process"))
        ])
        state.phase = .current
        progress(state)
        return true
    }

    /// Starts a projection over when what it derives changed without its
    /// version (the mappings the FHIR view of compositions follows): fresh
    /// tables, stale until a rebuild takes it up (`rebuild` without force,
    /// or the server's `maintain`); reads answer `StoreError.rebuilding` meanwhile.
    public func invalidate(_ name: String) async throws {
        let projection = try projection(name)
        try await database.transaction(
            [
                SQLStatement(
                    "UPDATE projection SET state = 'stale', cursor = NULL, done = 0, total = NULL, owner = NULL, heartbeat = NULL, updated_at = ? WHERE name = ?",
                    [.integer(ISODateTime.now().microsecondsSinceEpoch), .text(name)],
                    mustChangeOneRow: StoreError(.notFound, "the \(name) projection is not prepared"))
            ] + tables(projection))
    }

    /// Takes the projection for this owner: a forced rebuild starts from
    /// fresh tables; otherwise a stale or abandoned one is taken as it is.
    func claim(_ projection: any Projection, owner: String, force: Bool) async throws -> Bool {
        let now = ISODateTime.now().microsecondsSinceEpoch
        let (condition, binds) = Self.rmTypeCondition(projection, column: "rm_type")
        let total = try await database.query("SELECT COUNT(*) FROM versioned_object\(condition.isEmpty ? "" : " WHERE " + condition)", binds).first?
            .int(0) ?? 0
        if force {
            try await database.transaction(
                [
                    SQLStatement(
                        "UPDATE projection SET state = 'building', owner = ?, heartbeat = ?, cursor = NULL, done = 0, total = ?, updated_at = ? WHERE name = ?",
                        [.text(owner), .integer(now), .integer(total), .integer(now), .text(projection.name)],
                        mustChangeOneRow: StoreError(.notFound, "the \(projection.name) projection is not prepared"))
                ] + tables(projection))
            return true
        }
        do {
            try await database.transaction([
                SQLStatement(
                    """
                    UPDATE projection SET state = 'building', owner = ?, heartbeat = ?, total = ?, updated_at = ?
                    WHERE name = ? AND (state = 'stale' OR (state = 'building' AND (heartbeat IS NULL OR heartbeat < ?)))
                    """,
                    [.text(owner), .integer(now), .integer(total), .integer(now), .text(projection.name), .integer(now - Self.abandonedAfter)],
                    mustChangeOneRow: StoreError(.conflict, "current or being rebuilt"))
            ])
            return true
        } catch let error as StoreError where error.code == .conflict {
            return false
        }
    }

    /// One page of the rebuild: per version, a check that it is still its
    /// object's latest, then the projection's statements; then the progress.
    func statements(_ projection: any Projection, _ page: [ProjectedVersion], cursor: RebuildCursor, owner: String) throws -> [SQLStatement] {
        let kind = database.kind
        // On PostgreSQL the row stays locked until the page commits, so no commit of the object slips in between.
        let latest = "SELECT 1 FROM versioned_object WHERE object_id = ? AND latest_version = ?" + (kind == .postgresql ? " FOR SHARE" : "")
        var statements: [SQLStatement] = []
        for version in page {
            statements.append(
                SQLStatement(
                    latest, [.text(version.record.objectID), SQLValue(version.record.versionNumber)],
                    mustReturnRow: StoreError(.changed, "\(version.record.objectID) has a newer version")))
            statements += projection.statements(for: version, kind)
        }
        statements.append(
            SQLStatement(
                "UPDATE projection SET cursor = ?, done = done + ?, heartbeat = ? WHERE name = ? AND owner = ?",
                [.text(cursor.text), SQLValue(page.count), .integer(ISODateTime.now().microsecondsSinceEpoch), .text(projection.name), .text(owner)],
                mustChangeOneRow: StoreError(.conflict, "the rebuild of \(projection.name) was taken over by another process")))
        return statements
    }

    /// The latest version of each versioned object the projection follows,
    /// after `cursor` in creation order, one page, and where the page ends.
    func latestVersions(of projection: any Projection, after cursor: RebuildCursor) async throws -> ([ProjectedVersion], RebuildCursor?) {
        let (condition, binds) = Self.rmTypeCondition(projection, column: "o.rm_type", creationOrder: true)
        let rows = try await database.query(
            """
            SELECT o.object_id, o.rm_type, o.template_id, v.version_number, v.ehr_id, v.patient_id, v.contribution_id, v.system_id, v.committer,
                v.time_committed, v.change_type, v.description, v.lifecycle_state, v.data, o.time_created
            FROM versioned_object o JOIN object_version v ON v.object_id = o.object_id AND v.version_number = o.latest_version
            WHERE (o.time_created, o.object_id) > (?, ?)\(condition.isEmpty ? "" : " AND " + condition)
            ORDER BY o.time_created, o.object_id LIMIT ?
            """, [.integer(cursor.timeCreated), .text(cursor.objectID)] + binds + [SQLValue(Self.pageSize)])
        let versions = rows.map { row in
            let data = StoredDocument.decode(row, 13) ?? []
            let record = VersionRecord(
                objectID: row.string(0) ?? "", versionNumber: Int(row.int(3) ?? 0), ehrID: row.string(4), patientID: row.string(5),
                contributionID: row.string(6) ?? "",
                audit: AuditRecord(
                    systemID: row.string(7) ?? "", committer: row.string(8) ?? "", timeCommitted: row.int(9) ?? 0, changeType: row.string(10) ?? "",
                    description: row.string(11)),
                lifecycleState: row.string(12) ?? "", data: data)
            return ProjectedVersion(
                record: record, rmType: row.string(1) ?? "", templateID: row.string(2), isCreation: false, document: try? JSONParser.parse(data))
        }
        let last = rows.last.map { RebuildCursor(timeCreated: $0.int(14) ?? 0, objectID: $0.string(0) ?? "") }
        return (versions, last)
    }

    /// Refreshes the planner statistics of a projection's tables; returns the
    /// change position they were taken at. On SQLite the whole tables are
    /// read (sampling with `analysis_limit` misjudged the index on a few
    /// archetypes as selective: patient queries went from 2 to 140 ms,
    /// measured), and writes wait meanwhile: about a second per 100,000
    /// compositions. PostgreSQL samples, without blocking writes.
    func analyze(_ projection: any Projection) async throws -> Int64 {
        let position = try await database.query("SELECT COALESCE(MAX(position), 0) FROM change_log").first?.int(0) ?? 0
        try await database.migrate(projection.tables.map { "ANALYZE \($0)" })
        return position
    }

    /// Past this many changes, statistics are no longer refreshed as the
    /// data grows: their ratios hold, and an analysis would stall writes on
    /// SQLite for seconds.
    public static let statisticsHorizon: Int64 = 250_000

    /// Refreshes the statistics of the projections whose data has about
    /// doubled since they were last taken (by the change sequence), so that
    /// a database that grew from empty does not keep the plans of an empty one.
    public func refreshStatistics() async throws {
        let last = try await database.query("SELECT COALESCE(MAX(position), 0) FROM change_log").first?.int(0) ?? 0
        guard last < Self.statisticsHorizon else { return }
        let rows = try await database.query("SELECT name, analyzed_position FROM projection WHERE state = 'current'")
        for row in rows {
            guard let name = row.string(0), let projection = all.first(where: { $0.name == name }) else { continue }
            let analyzed = row.int(1) ?? 0
            guard last >= 2 * analyzed + 1000 else { continue }
            let position = try await analyze(projection)
            try await database.transaction([
                SQLStatement("UPDATE projection SET analyzed_position = ? WHERE name = ?", [.integer(position), .text(name)])
            ])
        }
    }

    /// Keeps the projections current for as long as the task runs (the
    /// server's background service): every `interval`, a projection that is
    /// stale, or whose rebuild was abandoned, is rebuilt by this process.
    /// A failure is reported and the rebuild tried again at the next turn.
    public func maintain(
        owner: String, every interval: Duration, progress: @Sendable (ProjectionState) -> Void, failure: @Sendable (String, any Error) -> Void
    ) async {
        while !Task.isCancelled {
            do {
                for state in try await states() where state.phase != .current {
                    do {
                        try await rebuild(state.name, owner: owner, force: false, progress: progress)
                    } catch is CancellationError {
                        return
                    } catch {
                        failure(state.name, error)
                    }
                }
                try await refreshStatistics()
            } catch {
                failure("projection", error)
            }
            try? await Task.sleep(for: interval)
        }
    }
}

/// Where a rebuild stands: the last object done, by creation time and id.
struct RebuildCursor: Equatable {
    var timeCreated: Int64
    var objectID: String

    init(timeCreated: Int64, objectID: String) {
        self.timeCreated = timeCreated
        self.objectID = objectID
    }

    /// From its text in the catalog (`time:object id`); the start when there is none.
    init(_ text: String?) {
        guard let text, let colon = text.firstIndex(of: ":"), let time = Int64(text[..<colon]) else {
            self.init(timeCreated: Int64.min, objectID: "")
            return
        }
        self.init(timeCreated: time, objectID: String(text[text.index(after: colon)...]))
    }

    var text: String { "\(timeCreated):\(objectID)" }
}
