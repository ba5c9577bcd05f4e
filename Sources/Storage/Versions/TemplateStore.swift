/// An uploaded operational template: its id, what it is about, and the
/// OPT exactly as uploaded.
public struct TemplateRecord: Sendable, Equatable {
    public var templateID: String
    public var concept: String
    public var archetypeID: String
    public var createdAt: Int64
    public var opt: [UInt8]
    /// Changes whenever the template is replaced: what a node that keeps
    /// the parsed template checks it against (`CommitCondition`).
    public var revision: String

    public init(templateID: String, concept: String, archetypeID: String, createdAt: Int64, opt: [UInt8], revision: String) {
        self.templateID = templateID
        self.concept = concept
        self.archetypeID = archetypeID
        self.createdAt = createdAt
        self.opt = opt
        self.revision = revision
    }
}

/// Operational templates, keyed by template id. A template that versioned
/// compositions follow cannot be replaced or removed.
public struct TemplateStore: Sendable {
    let database: any SQLDatabase

    init(database: any SQLDatabase) {
        self.database = database
    }

    public func insert(_ template: TemplateRecord) async throws {
        try await database.transaction([
            SQLStatement(
                "INSERT INTO template (template_id, concept, archetype_id, created_at, opt, revision) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    .text(template.templateID), .text(template.concept), .text(template.archetypeID), .integer(template.createdAt), .blob(template.opt),
                    .text(template.revision),
                ],
                onUniqueViolation: StoreError(.conflict, "template \(template.templateID) already exists"))
        ])
    }

    /// The template's revision, nil when there is no such template: one
    /// indexed read, to tell whether a kept copy is still the current one.
    public func revision(_ templateID: String) async throws -> String? {
        try await database.query("SELECT revision FROM template WHERE template_id = ?", [.text(templateID)]).first?.string(0)
    }

    static let notInUse = "NOT EXISTS (SELECT 1 FROM versioned_object WHERE versioned_object.template_id = ?)"

    /// Replaces a template that no composition uses.
    public func replace(_ template: TemplateRecord) async throws {
        try await requireUnused(template.templateID)
        try await database.transaction([
            SQLStatement(
                "UPDATE template SET concept = ?, archetype_id = ?, created_at = ?, opt = ?, revision = ? WHERE template_id = ? AND \(Self.notInUse)",
                [
                    .text(template.concept), .text(template.archetypeID), .integer(template.createdAt), .blob(template.opt), .text(template.revision),
                    .text(template.templateID), .text(template.templateID),
                ],
                mustChangeOneRow: StoreError(.conflict, "template \(template.templateID) is used by compositions"))
        ])
    }

    /// Removes a template that no composition uses.
    public func delete(_ templateID: String) async throws {
        try await requireUnused(templateID)
        try await database.transaction([
            SQLStatement(
                "DELETE FROM template WHERE template_id = ? AND \(Self.notInUse)", [.text(templateID), .text(templateID)],
                mustChangeOneRow: StoreError(.conflict, "template \(templateID) is used by compositions"))
        ])
    }

    /// Removes every template, unless any is in use: then none is removed.
    /// Returns how many were removed.
    public func deleteAll() async throws -> Int {
        let used = try await database.query(
            "SELECT DISTINCT t.template_id FROM template t JOIN versioned_object v ON v.template_id = t.template_id ORDER BY t.template_id")
        if !used.isEmpty {
            throw StoreError(.conflict, "templates in use by compositions: \(used.compactMap { $0.string(0) }.joined(separator: ", "))")
        }
        let count = Int(try await database.query("SELECT COUNT(*) FROM template").first?.int(0) ?? 0)
        try await database.transaction([SQLStatement("DELETE FROM template WHERE NOT EXISTS (SELECT 1 FROM versioned_object WHERE versioned_object.template_id = template.template_id)")])
        return count
    }

    func requireUnused(_ templateID: String) async throws {
        guard try await exists(templateID) else { throw StoreError(.notFound, "template \(templateID) does not exist") }
        let uses = try await database.query("SELECT COUNT(*) FROM versioned_object WHERE template_id = ?", [.text(templateID)])
        if (uses.first?.int(0) ?? 0) > 0 { throw StoreError(.conflict, "template \(templateID) is used by compositions") }
    }

    public func exists(_ templateID: String) async throws -> Bool {
        !(try await database.query("SELECT 1 FROM template WHERE template_id = ?", [.text(templateID)]).isEmpty)
    }

    public func template(_ templateID: String) async throws -> TemplateRecord? {
        try await database.query(
            "SELECT template_id, concept, archetype_id, created_at, opt, revision FROM template WHERE template_id = ?", [.text(templateID)]
        ).first.map { row in
            TemplateRecord(
                templateID: row.string(0) ?? "", concept: row.string(1) ?? "", archetypeID: row.string(2) ?? "", createdAt: row.int(3) ?? 0,
                opt: row.bytes(4) ?? [], revision: row.string(5) ?? "")
        }
    }

    /// Every template without its OPT, by id.
    public func list() async throws -> [TemplateRecord] {
        try await database.query("SELECT template_id, concept, archetype_id, created_at, revision FROM template ORDER BY template_id").map { row in
            TemplateRecord(
                templateID: row.string(0) ?? "", concept: row.string(1) ?? "", archetypeID: row.string(2) ?? "", createdAt: row.int(3) ?? 0, opt: [],
                revision: row.string(4) ?? "")
        }
    }
}
