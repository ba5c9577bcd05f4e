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
            for row in rows {
                let viewed = ViewedResource(
                    type: row.string(0) ?? "", id: row.string(1) ?? "", source: row.string(2) ?? "", versionNumber: Int(row.int(3) ?? 0),
                    timeCommitted: row.int(4) ?? 0, patientID: row.string(5), body: row.bytes(6) ?? [])
                found[viewed.type + "/" + viewed.id] = viewed
            }
        }
        return found
    }
}
