/// Resolves one context: checks what it names, applies its extensions, and
/// gathers the model mappings its slots reach.
struct ContextResolver {
    let library: MappingLibrary
    let context: ContextMapping
    private var problems: [MappingProblem] = []
    /// The context's extensions by the model mapping each extends.
    private var extensionsByBase: [String: [ModelMapping]] = [:]

    init(library: MappingLibrary, context: ContextMapping) {
        self.library = library
        self.context = context
    }

    mutating func problem(_ reason: String, file: String? = nil, line: Int? = nil) {
        problems.append(MappingProblem(file: file ?? context.header.file, line: line, reason: reason))
    }

    consuming func resolve() -> Result<ResolvedContext, MappingFileError> {
        for name in context.extensions {
            guard let extensionMapping = library.extensions[name] else {
                problem(library.models[name] == nil
                    ? "the context uses extension mapping '\(name)', which is not loaded"
                    : "'\(name)' in extensions is a model mapping, not an extension")
                continue
            }
            guard let base = library.modelName(for: extensionMapping.extendsName) else {
                problem("extension '\(name)' extends '\(extensionMapping.extendsName)', which is not loaded")
                continue
            }
            extensionsByBase[base, default: []].append(extensionMapping)
        }
        var models: [String: ModelMapping] = [:]
        for name in context.archetypes where library.modelName(for: name) == nil {
            problem(library.extensions[name] != nil
                ? "'\(name)' in archetypes is an extension mapping; extensions are listed under extensions"
                : "the context uses model mapping '\(name)', which is not loaded")
        }
        let startName = library.modelName(for: context.start)
        if startName == nil {
            problem("the context starts at '\(context.start)', which is not loaded as a model mapping")
        }
        // The named ones, then every model a slot reaches (a slot may name a
        // model the context does not list, as openFHIR resolves them).
        var pending = ([context.start] + context.archetypes).compactMap(library.modelName(for:))
        while let name = pending.popLast() {
            guard models[name] == nil, let base = library.models[name] else { continue }
            let model = (extensionsByBase[name] ?? []).reduce(base) { apply($1, to: $0) }
            models[name] = model
            for (slot, line) in Self.slots(model.methods) {
                if let slotModel = library.modelName(for: slot) {
                    if models[slotModel] == nil { pending.append(slotModel) }
                } else {
                    problem("a method fills its slot with '\(slot)', which is not loaded (context \(context.header.name))", file: model.header.file, line: line)
                }
            }
        }
        guard problems.isEmpty, let startName, let start = models[startName] else { return .failure(MappingFileError(problems)) }
        return .success(ResolvedContext(context: context, start: start, models: models))
    }

    /// The slot archetypes the methods fill, with the line of each method.
    static func slots(_ methods: [MappingMethod]) -> [(String, Int?)] {
        methods.flatMap { method in
            (method.slotArchetype.map { [($0, method.line)] } ?? []) + slots(method.followedBy) + slots(method.reference?.methods ?? [])
        }
    }

    /// The model as the extension changes it: add at the end, overwrite by
    /// (dotted) name, append children to the method at a dotted name path.
    mutating func apply(_ extensionMapping: ModelMapping, to base: ModelMapping) -> ModelMapping {
        var model = base
        for method in extensionMapping.methods {
            switch method.extensionAction {
            case .add, nil:
                model.methods.append(method)
            case .overwrite(let path):
                var replacement = method
                replacement.name = path.last ?? method.name
                if !Self.change(at: path[...], in: &model.methods, { $0 = replacement }) {
                    problem(
                        "mapping '\(method.name)' overwrites a method that '\(base.header.name)' does not have",
                        file: extensionMapping.header.file, line: method.line)
                }
            case .append(let path):
                if !Self.change(at: path[...], in: &model.methods, { $0.followedBy += method.followedBy }) {
                    problem(
                        "mapping '\(method.name)' appends to '\(path.joined(separator: "."))', which '\(base.header.name)' does not have",
                        file: extensionMapping.header.file, line: method.line)
                }
            }
        }
        return model
    }

    /// Changes the method at a dotted name path (names of nested `followedBy`
    /// methods); a single name that no top-level method has names the only
    /// nested method of that name (as openFHIR's extensions overwrite them).
    /// False when there is no such method, or more than one.
    static func change(at path: ArraySlice<String>, in methods: inout [MappingMethod], _ body: (inout MappingMethod) -> Void) -> Bool {
        guard let name = path.first else { return false }
        guard let index = methods.firstIndex(where: { $0.name == name }) else {
            guard path.count == 1, let nested = Self.uniquePath(of: name, in: methods) else { return false }
            return change(at: nested[...], in: &methods, body)
        }
        if path.count == 1 {
            body(&methods[index])
            return true
        }
        return change(at: path.dropFirst(), in: &methods[index].followedBy, body)
    }

    /// The dotted path of the only method named `name` below `methods`.
    static func uniquePath(of name: String, in methods: [MappingMethod]) -> [String]? {
        func paths(_ methods: [MappingMethod], _ prefix: [String]) -> [[String]] {
            methods.flatMap { method in
                (method.name == name ? [prefix + [name]] : []) + paths(method.followedBy, prefix + [method.name])
            }
        }
        let found = paths(methods, [])
        return found.count == 1 ? found[0] : nil
    }
}

extension ModelMapping {
    var extendsName: String {
        if case .extension(let extends) = kind { return extends }
        return header.name
    }
}
