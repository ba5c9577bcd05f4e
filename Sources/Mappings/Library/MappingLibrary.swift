/// A set of mapping files read together: model, extension and context
/// mappings by name, each context checked against the others (its start,
/// archetypes, extensions and the slots they fill must be there) and
/// resolved into the model mappings it runs, extensions applied
/// (§Extension methods).
public struct MappingLibrary: Sendable {
    /// A file of the set and what became of it.
    public struct FileStatus: Sendable {
        public let file: String
        public let document: MappingDocument?
        public let problems: [MappingProblem]
        public var loaded: Bool { problems.isEmpty }
    }

    public private(set) var files: [FileStatus] = []
    /// Model mappings by name, as written.
    public private(set) var models: [String: ModelMapping] = [:]
    public private(set) var extensions: [String: ModelMapping] = [:]
    /// Contexts that resolved, each with the model mappings it runs.
    public private(set) var contexts: [ResolvedContext] = []

    /// Reads every file (name, text); a file that cannot be read or used is
    /// kept with its problems and the rest still load.
    /// `unreadable` are files that could not be read as text (a file name and why): listed with that problem.
    public init(files sources: [(file: String, text: String)], unreadable: [(file: String, reason: String)] = []) {
        var parsed: [(String, Result<MappingDocument, MappingFileError>)] = []
        for (file, reason) in unreadable {
            parsed.append((file, .failure(MappingFileError([MappingProblem(file: file, reason: reason)]))))
        }
        for (file, text) in sources {
            do throws(MappingFileError) {
                parsed.append((file, .success(try MappingFileParser.parse(text, file: file))))
            } catch {
                parsed.append((file, .failure(error)))
            }
        }
        var problems: [String: [MappingProblem]] = [:]
        var owner: [String: String] = [:]
        for case (let file, .success(let document)) in parsed {
            let header = document.header
            if case .context = document { continue }
            if let other = owner[header.name] {
                problems[file, default: []].append(MappingProblem(file: file, reason: "mapping '\(header.name)' is also defined by \(other)"))
                continue
            }
            owner[header.name] = file
            guard case .model(let model) = document else { continue }
            if case .extension = model.kind { extensions[header.name] = model } else { models[header.name] = model }
        }
        for case (let file, .success(.context(let context))) in parsed {
            switch ContextResolver(library: self, context: context).resolve() {
            case .success(let resolved): contexts.append(resolved)
            case .failure(let error): problems[file, default: []] += error.problems
            }
        }
        files = parsed.map { file, result in
            switch result {
            case .success(let document): FileStatus(file: file, document: document, problems: problems[file] ?? [])
            case .failure(let error): FileStatus(file: file, document: nil, problems: error.problems)
            }
        }
    }

    /// The model mapping a context or slot means by `reference`: the one of
    /// that name; else of that name without the `openEHR-EHR-` prefix; else
    /// the only one mapping that archetype id (openFHIR's files name slots
    /// by archetype id).
    public func modelName(for reference: String) -> String? { Self.name(for: reference, in: models) }

    static func name(for reference: String, in models: [String: ModelMapping]) -> String? {
        if models[reference] != nil { return reference }
        let prefix = "openEHR-EHR-"
        if reference.hasPrefix(prefix), models[String(reference.dropFirst(prefix.count))] != nil {
            return String(reference.dropFirst(prefix.count))
        }
        let byArchetype = models.values.filter { $0.archetype == reference || $0.archetype == prefix + reference }
        return byArchetype.count == 1 ? byArchetype[0].header.name : nil
    }

    /// The contexts for a FHIR profile (or resource type) url.
    public func contexts(profile: String) -> [ResolvedContext] { contexts.filter { $0.context.profileURL == profile } }

    /// The contexts for an openEHR template.
    public func contexts(template: String) -> [ResolvedContext] { contexts.filter { $0.context.templateID == template } }
}

/// A context with the model mappings it runs, its extensions applied.
public struct ResolvedContext: Sendable {
    public let context: ContextMapping
    /// The model mapping it starts at, as extended.
    public let start: ModelMapping
    /// By name: the context's archetypes and those its slots reach, as extended.
    public let models: [String: ModelMapping]

    /// The model mapping a slot or reference names (see `MappingLibrary.modelName(for:)`).
    public func model(for reference: String) -> ModelMapping? {
        MappingLibrary.name(for: reference, in: models).flatMap { models[$0] }
    }
}
