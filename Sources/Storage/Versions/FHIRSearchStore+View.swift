extension FHIRSearchStore {
    /// Of `references` (`Type/id`), the resources compositions are seen as
    /// (`CompositionFHIRView`), by reference; 500 a query.
    public func viewed(_ references: [String]) async throws -> [String: ViewedResource] {
        var found: [String: ViewedResource] = [:]
        let ids = Array(Set(references)).sorted()
        for start in stride(from: 0, to: ids.count, by: 500) {
            let (resources, binds) = FHIRSearchSQL.resources(Array(ids[start..<min(start + 500, ids.count)]), "d")
            let rows = try await database.query(
                "SELECT d.type, d.id, d.source, d.version_number, d.time_committed, d.patient_id, d.body FROM \(FHIRSearchTable.view.name) d WHERE \(resources)",
                binds)
            for viewed in rows.map(Self.viewedResource) { found[viewed.type + "/" + viewed.id] = viewed }
        }
        return found
    }
}

extension FHIRSearchStore {
    /// The resources one composition is seen as, in the order of their ids.
    public func viewed(source: String) async throws -> [ViewedResource] {
        try await database.query(
            "SELECT type, id, source, version_number, time_committed, patient_id, body FROM \(FHIRSearchTable.view.name) WHERE source = ? ORDER BY id",
            [.text(source)]
        ).map(Self.viewedResource)
    }

    static func viewedResource(_ row: SQLRow) -> ViewedResource {
        ViewedResource(
            type: row.string(0) ?? "", id: row.string(1) ?? "", source: row.string(2) ?? "", versionNumber: Int(row.int(3) ?? 0),
            timeCommitted: row.int(4) ?? 0, patientID: row.string(5), body: row.bytes(6) ?? [])
    }
}
