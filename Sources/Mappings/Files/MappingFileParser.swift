import Yams

/// Reads a FHIRconnect mapping file into its typed model, checked against
/// the grammar's schemas (`contextual-mapping.schema.json`,
/// `model-mapping.schema.json`) and the keys the specification's prose adds
/// (`link`, `mappingCode`, `conceptmap`), with openFHIR's unambiguous
/// variants (`criterias`, `targetAttributes`, plural preprocessor
/// conditions, `.as(T)`). Every problem is reported with its line.
public enum MappingFileParser {
    public static func parse(_ text: String, file: String) throws(MappingFileError) -> MappingDocument {
        let log = ProblemLog(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw MappingFileError([Self.problem(error, file: file)])
        } catch {
            throw MappingFileError([MappingProblem(file: file, reason: "not YAML: \(error)")])
        }
        guard let root, let object = YAMLObject(root, "a mapping file", log: log) else {
            throw MappingFileError(log.problems.isEmpty ? [MappingProblem(file: file, reason: "the file is empty")] : log.problems)
        }
        let document = Self.document(object, file: file)
        guard log.problems.isEmpty, let document else {
            throw MappingFileError(log.problems.isEmpty ? [MappingProblem(file: file, reason: "the file is not a mapping")] : log.problems)
        }
        return document
    }

    static func problem(_ error: YamlError, file: String) -> MappingProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            MappingProblem(file: file, line: mark.line, column: mark.column, reason: "not YAML: \(problem)")
        default:
            MappingProblem(file: file, reason: "not YAML: \(error)")
        }
    }

    static func document(_ object: YAMLObject, file: String) -> MappingDocument? {
        let log = object.log
        guard let declaration = object.string("grammar") else {
            log.add(object.node, "the file declares no 'grammar' (FHIRConnect/v1.0.0): it is not a FHIRconnect mapping"
                + (object.value("format") != nil ? " (its 'format' key is of an earlier draft)" : ""))
            return nil
        }
        guard let grammar = GrammarVersion(declaration: declaration), GrammarVersion.supported.contains(grammar) else {
            log.add(object.value("grammar"), "grammar '\(declaration)' is not one read here (\(GrammarVersion.supported.map(\.description).joined(separator: ", ")))")
            return nil
        }
        let type = object.string("type", required: true)
        let metadata = object.object("metadata", "the metadata")
        metadata?.refuseUnknownKeys(["name", "version"])
        let header = MappingHeader(
            file: file, grammar: grammar, name: metadata?.string("name", required: true) ?? "",
            version: metadata?.string("version", required: true) ?? "")
        switch type {
        case "context":
            object.refuseUnknownKeys(["grammar", "type", "metadata", "spec", "context"])
            _ = Self.spec(object, model: false)
            return ContextReader.context(object, header: header).map(MappingDocument.context)
        case "model", "extension":
            object.refuseUnknownKeys(["grammar", "type", "metadata", "spec", "preprocessor", "mappings"])
            guard let spec = Self.spec(object, model: true) else { return nil }
            return ModelReader.model(object, header: header, extension: type == "extension", spec: spec).map(MappingDocument.model)
        case nil:
            return nil
        case let other?:
            log.add(object.value("type"), "type '\(other)' is not a mapping file type (model, extension, context)")
            return nil
        }
    }

    /// `spec`: FHIR R4, and for a model mapping its archetype, structure definition and what it extends.
    static func spec(_ object: YAMLObject, model: Bool) -> YAMLObject? {
        guard let spec = object.object("spec", "the spec") else {
            object.log.add(object.node, "the file lacks 'spec'")
            return nil
        }
        spec.refuseUnknownKeys(model ? ["system", "version", "extends", "openEhrConfig", "fhirConfig", "conceptmap"] : ["system", "version"])
        if let system = spec.string("system", required: true), system != "FHIR" {
            object.log.add(spec.value("system"), "spec.system '\(system)' is not FHIR")
        }
        if let version = spec.string("version", required: true), version != "R4" {
            object.log.add(spec.value("version"), "spec.version '\(version)' is not R4 (the FHIR release mapped here)")
        }
        return spec
    }
}

/// Reads a context mapping's `context`.
enum ContextReader {
    static func context(_ object: YAMLObject, header: MappingHeader) -> ContextMapping? {
        guard let context = object.object("context", "the context") else {
            object.log.add(object.node, "a context mapping needs 'context'")
            return nil
        }
        context.refuseUnknownKeys(["profile", "template", "archetypes", "extensions", "start"])
        let profile = context.object("profile", "the context's profile")
        profile?.refuseUnknownKeys(["url", "version"])
        let template = context.object("template", "the context's template")
        template?.refuseUnknownKeys(["id", "sem_ver"])
        if profile == nil { context.log.add(context.node, "the context lacks 'profile'") }
        if template == nil { context.log.add(context.node, "the context lacks 'template'") }
        let templateID = template?.string("id", required: true)
        let start = context.string("start", required: true)
        if context.value("archetypes") == nil { context.log.add(context.node, "the context lacks 'archetypes'") }
        guard let templateID, let start else { return nil }
        return ContextMapping(
            header: header, profileURL: profile?.string("url"), profileVersion: profile?.string("version"),
            templateID: templateID, templateVersion: template?.string("sem_ver"),
            archetypes: context.strings("archetypes"), extensions: context.strings("extensions"), start: start)
    }
}
