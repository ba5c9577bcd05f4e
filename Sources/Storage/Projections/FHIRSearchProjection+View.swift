import JSONCore

/// The FHIR resources a composition is also seen as (docs/architecture.md
/// §Mapped reads): the Mappings face gives them, the FHIR search projection
/// keeps them beside the resources written through FHIR, in the commit's
/// own transaction, so a FHIR search sees an openEHR write at once.
public protocol CompositionFHIRView: Sendable {
    /// The resources one version of a composition is seen as, each with its
    /// `resourceType` and `id` (the same ids for every version of the
    /// composition); empty when no loaded mapping covers its template.
    func resources(of version: ProjectedVersion) -> [JSON]
}

/// One resource a composition is seen as, as `fhir_view` keeps it.
public struct ViewedResource: Sendable {
    public var type: String
    public var id: String
    /// The composition's versioned object id and the version it was seen in.
    public var source: String
    public var versionNumber: Int
    public var timeCommitted: Int64
    public var patientID: String?
    public var body: [UInt8]
}

extension FHIRSearchProjection {
    func viewCreateStatements(_ kind: DatabaseKind) -> [String] {
        let blob = kind == .postgresql ? "BYTEA" : "BLOB"
        let view = FHIRSearchTable.view.name
        return [
            """
            CREATE TABLE \(view) (type TEXT NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, version_number INTEGER NOT NULL,
                time_committed BIGINT NOT NULL, patient_id TEXT, body \(blob) NOT NULL, PRIMARY KEY (type, id))
            """,
            "CREATE INDEX \(view)_source_idx ON \(view) (source)",
        ]
    }

    /// A composition's resources replaced: those of its preceding version
    /// removed from the index (their index rows and resource rows) and
    /// their bodies replaced by this version's, each with its index rows.
    /// The ids are the view's, the same for every version, so a resource
    /// keeps its id (not its `rid`) across the composition's versions. A
    /// deletion keeps the resources' `fhir_view` rows with an empty body and
    /// the deleting version, so a read says 410 Gone and the ids stay taken.
    func viewStatements(for version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement] {
        let record = version.record
        let source = SQLValue.text(record.objectID)
        let (resource, view) = (FHIRSearchTable.resource.name, FHIRSearchTable.view.name)
        var statements: [SQLStatement] = []
        if !version.isCreation {
            let rids = "SELECT r.rid FROM \(resource) r JOIN \(view) d ON d.type = r.type AND d.id = r.id WHERE d.source = ?"
            statements += (FHIRSearchTable.typed + [.resource]).map { SQLStatement("DELETE FROM \($0.name) WHERE rid IN (\(rids))", [source]) }
            guard !version.isDeleted else {
                statements.append(
                    SQLStatement(
                        "UPDATE \(view) SET version_number = ?, time_committed = ?, body = ? WHERE source = ?",
                        [SQLValue(record.versionNumber), .integer(record.audit.timeCommitted), .blob([]), source]))
                return statements
            }
            statements.append(SQLStatement("DELETE FROM \(view) WHERE source = ?", [source]))
        }
        guard !version.isDeleted, version.document != nil, let view = self.view else { return statements }
        for document in view.resources(of: version) {
            guard let type = document["resourceType"]?.stringValue, let id = document["id"]?.stringValue else { continue }
            statements += viewedStatements(type: type, id: id, document: document, version: version, kind)
        }
        return statements
    }

    /// One viewed resource's body, resource row and index rows.
    func viewedStatements(type: String, id: String, document: JSON, version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement] {
        let key = [SQLValue.text(type), .text(id)]
        let (resource, view) = (FHIRSearchTable.resource.name, FHIRSearchTable.view.name)
        let record = version.record
        let statements = [
            SQLStatement(
                "INSERT INTO \(view) (type, id, source, version_number, time_committed, patient_id, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                key + [.text(record.objectID), SQLValue(record.versionNumber), .integer(record.audit.timeCommitted), SQLValue(record.patientID),
                    .blob(JSONSerializer.bytes(document))],
                onUniqueViolation: StoreError(.conflict, "\(type)/\(id), which composition \(record.objectID) is seen as, is already another resource's id")),
            SQLStatement(
                "INSERT INTO \(resource) (type, id) VALUES (?, ?)", key,
                onUniqueViolation: StoreError(.conflict, "\(type)/\(id), which composition \(record.objectID) is seen as, is already a FHIR resource's id")),
        ]
        return statements + Self.valueInserts(Self.chunks(of: document, type: type), type: type, id: id, kind)
    }

    /// The erased compositions' resources: index rows, resource rows, bodies.
    func viewErasureStatements() -> [SQLStatement] {
        let (resource, view) = (FHIRSearchTable.resource.name, FHIRSearchTable.view.name)
        let erased = "SELECT object_id FROM erased_object"
        let rids = "SELECT r.rid FROM \(resource) r JOIN \(view) d ON d.type = r.type AND d.id = r.id WHERE d.source IN (\(erased))"
        return (FHIRSearchTable.typed + [.resource]).map { SQLStatement("DELETE FROM \($0.name) WHERE rid IN (\(rids))") }
            + [SQLStatement("DELETE FROM \(view) WHERE source IN (\(erased))")]
    }
}

extension ViewedResource {
    /// Its composition was deleted (the row is kept, without a body).
    public var isDeleted: Bool { body.isEmpty }
}
