import Yams

/// Reads a model or extension mapping: its spec, preprocessor and methods.
enum ModelReader {
    static func model(_ object: YAMLObject, header: MappingHeader, extension isExtension: Bool, spec: YAMLObject) -> ModelMapping? {
        let openEHR = spec.object("openEhrConfig", "spec.openEhrConfig")
        openEHR?.refuseUnknownKeys(["archetype", "revision"])
        let fhir = spec.object("fhirConfig", "spec.fhirConfig")
        fhir?.refuseUnknownKeys(["structureDefinition"])
        let kind: ModelMapping.Kind
        if isExtension {
            guard let extends = spec.string("extends") else {
                object.log.add(spec.node, "an extension mapping must say in spec.extends which model mapping it extends")
                return nil
            }
            kind = .extension(extends: extends)
        } else {
            if spec.value("extends") != nil { object.log.add(spec.value("extends"), "only an extension mapping extends another (type: extension)") }
            kind = .model
        }
        let methods = object.list("mappings").compactMap { method($0, log: object.log, inExtension: isExtension, depth: 0) }
        return ModelMapping(
            header: header, kind: kind, archetype: openEHR?.string("archetype", required: true),
            structureDefinition: fhir?.string("structureDefinition", required: true),
            preprocessor: preprocessor(object.object("preprocessor", "the preprocessor")), methods: methods)
    }

    static func preprocessor(_ object: YAMLObject?) -> Preprocessor {
        var preprocessor = Preprocessor()
        guard let object else { return preprocessor }
        object.refuseUnknownKeys(["fhirCondition", "fhirConditions", "openehrCondition", "openehrConditions", "hierarchy"])
        preprocessor.fhirConditions = conditions(object, "fhirCondition", FHIRMappingPath.parse)
            + conditions(object, "fhirConditions", FHIRMappingPath.parse)
        preprocessor.openEHRConditions = conditions(object, "openehrCondition", OpenEHRMappingPath.parse)
            + conditions(object, "openehrConditions", OpenEHRMappingPath.parse)
        if let hierarchy = object.object("hierarchy", "the hierarchy") {
            hierarchy.refuseUnknownKeys(["with", "split"])
            let with = hierarchy.object("with", "the hierarchy's 'with'")
            with?.refuseUnknownKeys(["fhir", "openehr", "openEHR"])
            let split = hierarchy.object("split", "the hierarchy's split")
            split?.refuseUnknownKeys(["fhir", "openehr", "openEHR"])
            func side(_ key: String) -> Hierarchy.Split? {
                guard let side = split?.object(key, "the split's '\(key)'") else { return nil }
                side.refuseUnknownKeys(["create", "path", "unique"])
                return Hierarchy.Split(create: side.string("create"), path: side.string("path"), unique: side.strings("unique"))
            }
            preprocessor.hierarchy = Hierarchy(
                fhir: path(with, "fhir", FHIRMappingPath.parse),
                openEHR: path(with, "openehr", OpenEHRMappingPath.parse) ?? path(with, "openEHR", OpenEHRMappingPath.parse),
                splitFHIR: side("fhir"), splitOpenEHR: side("openehr") ?? side("openEHR"))
        }
        return preprocessor
    }

    static let methodKeys: Set<String> = [
        "name", "with", "unidirectional", "manual", "fhirCondition", "openehrCondition", "followedBy", "reference",
        "slotArchetype", "extension", "appendTo", "link", "mappingCode", "conceptmap", "terminology",
    ]

    /// Methods nest (followedBy, reference); a bound keeps a hostile file from exhausting the stack.
    static let maximumDepth = 64

    static func method(_ node: Node, log: ProblemLog, inExtension: Bool, depth: Int) -> MappingMethod? {
        guard depth < maximumDepth else {
            log.add(node, "methods nest deeper than \(maximumDepth) levels")
            return nil
        }
        // The name only names the method in messages here; it is read (and checked) below.
        let name = node["name"]?.scalar?.string
        guard let object = YAMLObject(node, name.map { "mapping '\($0)'" } ?? "a mapping method", log: log) else { return nil }
        object.refuseUnknownKeys(methodKeys)
        guard let name = object.string("name", required: true) else { return nil }
        let with = object.object("with")
        // `link` under `with` is openFHIR's place for the method's link.
        with?.refuseUnknownKeys(["fhir", "openehr", "type", "value", "link"])
        var dataType: DataMappingType?
        if let type = with?.string("type") {
            dataType = DataMappingType(rawValue: type)
            if dataType == nil {
                log.add(with?.value("type"), "type '\(type)' of mapping '\(name)' is not a data mapping (\(DataMappingType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        let children: (String) -> [MappingMethod] = { key in
            guard let holder = object.object(key, "'\(key)' of mapping '\(name)'") else { return [] }
            return holder.list("mappings").compactMap { method($0, log: log, inExtension: inExtension, depth: depth + 1) }
        }
        let followedByObject = object.object("followedBy", "'followedBy' of mapping '\(name)'")
        followedByObject?.refuseUnknownKeys(["mappings"])
        return MappingMethod(
            name: name, line: object.line,
            fhir: path(with, "fhir", FHIRMappingPath.parse), openEHR: path(with, "openehr", OpenEHRMappingPath.parse),
            dataType: dataType, value: with?.string("value"), direction: direction(object, name: name),
            extensionAction: extensionAction(object, name: name, inExtension: inExtension),
            fhirConditions: conditions(object, "fhirCondition", FHIRMappingPath.parse),
            openEHRConditions: conditions(object, "openehrCondition", OpenEHRMappingPath.parse),
            manual: object.list("manual").compactMap { manual($0, method: name, log: log) },
            followedBy: children("followedBy"),
            reference: reference(object, name: name, children: children),
            slotArchetype: object.string("slotArchetype"), link: link(object, name: name) ?? with.flatMap { link($0, name: name) },
            programmed: object.string("mappingCode"), conceptMap: object.string("conceptmap"),
            codeTranslations: translations(object, name: name))
    }

    /// openFHIR's `terminology: {type: inline, mappings: [{openehr: {code}, fhir: {code}}]}`.
    static func translations(_ object: YAMLObject, name: String) -> [MappingMethod.CodeTranslation] {
        guard let terminology = object.object("terminology", "'terminology' of mapping '\(name)'") else { return [] }
        terminology.refuseUnknownKeys(["type", "mappings"])
        if let type = terminology.string("type"), type != "inline" {
            object.log.add(terminology.value("type"), "terminology type '\(type)' of mapping '\(name)' is not 'inline'")
        }
        return terminology.list("mappings").compactMap { node in
            guard let pair = YAMLObject(node, "a terminology mapping of '\(name)'", log: object.log) else { return nil }
            pair.refuseUnknownKeys(["openehr", "fhir"])
            let openEHR = pair.object("openehr"), fhir = pair.object("fhir")
            openEHR?.refuseUnknownKeys(["code"])
            fhir?.refuseUnknownKeys(["code"])
            guard let from = openEHR?.string("code", required: true), let to = fhir?.string("code", required: true) else {
                if openEHR == nil || fhir == nil { object.log.add(node, "a terminology mapping of '\(name)' needs openehr and fhir codes") }
                return nil
            }
            return MappingMethod.CodeTranslation(openEHR: from, fhir: to)
        }
    }

    static func reference(_ object: YAMLObject, name: String, children: (String) -> [MappingMethod]) -> ReferenceMapping? {
        guard let reference = object.object("reference", "'reference' of mapping '\(name)'") else { return nil }
        reference.refuseUnknownKeys(["resourceType", "mappings"])
        guard let type = reference.string("resourceType", required: true) else { return nil }
        return ReferenceMapping(resourceType: type, methods: children("reference"))
    }

    static func link(_ object: YAMLObject, name: String) -> MappingMethod.Link? {
        guard let link = object.object("link", "'link' of mapping '\(name)'") else { return nil }
        link.refuseUnknownKeys(["meaning", "type"])
        guard let meaning = link.string("meaning", required: true), let type = link.string("type", required: true) else { return nil }
        return MappingMethod.Link(meaning: meaning, type: type)
    }

    static func direction(_ object: YAMLObject, name: String) -> MappingDirection {
        guard let text = object.string("unidirectional") else { return .both }
        guard let direction = MappingDirection(text: text) else {
            object.log.add(object.value("unidirectional"), "unidirectional '\(text)' of mapping '\(name)' is neither \"fhir->openehr\" nor \"openehr->fhir\"")
            return .both
        }
        return direction
    }

    static func extensionAction(_ object: YAMLObject, name: String, inExtension: Bool) -> ExtensionAction? {
        guard let text = object.string("extension") else {
            if object.value("appendTo") != nil { object.log.add(object.value("appendTo"), "appendTo of mapping '\(name)' needs extension: append") }
            return nil
        }
        if !inExtension { object.log.add(object.value("extension"), "mapping '\(name)' has 'extension' but the file is not an extension mapping") }
        switch text {
        case "add": return .add
        case "overwrite": return .overwrite(at: name.split(separator: ".").map(String.init))
        case "append":
            guard let target = object.string("appendTo") else {
                object.log.add(object.node, "mapping '\(name)' appends but does not say to which method (appendTo)")
                return nil
            }
            return .append(to: target.split(separator: ".").map(String.init))
        default:
            object.log.add(object.value("extension"), "extension '\(text)' of mapping '\(name)' is not add, append or overwrite")
            return nil
        }
    }
}
