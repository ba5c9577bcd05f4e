import Yams

extension ModelReader {
    /// A path of a `with` (or a hierarchy's), parsed; a bad path is reported at its line.
    static func path<Path>(_ object: YAMLObject?, _ key: String, _ parse: (String) -> Result<Path, PathError>) -> Path? {
        guard let object, let text = object.string(key) else { return nil }
        switch parse(text) {
        case .success(let path): return path
        case .failure(let error):
            object.log.add(object.value(key), "\(key) path of \(object.subject): \(error.reason)")
            return nil
        }
    }

    /// The conditions under `key`: one mapping or a list of them (§Conditions).
    static func conditions<Path>(_ object: YAMLObject, _ key: String, _ parse: (String) -> Result<Path, PathError>) -> [MappingCondition<Path>] {
        object.list(key, allowingSingle: true).compactMap { node in
            guard let condition = YAMLObject(node, "'\(key)' of \(object.subject)", log: object.log) else { return nil }
            return Self.condition(condition, parse)
        }
    }

    static func condition<Path>(_ object: YAMLObject, _ parse: (String) -> Result<Path, PathError>) -> MappingCondition<Path>? {
        object.refuseUnknownKeys(["targetRoot", "targetAttribute", "targetAttributes", "operator", "criteria", "criterias", "identifying"])
        let root = path(object, "targetRoot", parse)
        if object.value("targetRoot") == nil { object.log.add(object.node, "\(object.subject) lacks 'targetRoot'") }
        let attributes = object.strings("targetAttribute") + object.strings("targetAttributes")
        var attributePaths: [Path] = []
        for attribute in attributes {
            switch parse(attribute) {
            case .success(let path): attributePaths.append(path)
            case .failure(let error):
                object.log.add(object.value("targetAttribute") ?? object.value("targetAttributes"), "targetAttribute of \(object.subject): \(error.reason)")
            }
        }
        guard let text = object.string("operator", required: true) else { return nil }
        guard let op = ConditionOperator(text: text) else {
            object.log.add(object.value("operator"), "operator '\(text)' of \(object.subject) is not one of \(ConditionOperator.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
            return nil
        }
        let criteria = object.strings("criteria") + object.strings("criterias")
        switch op {
        case .empty, .notEmpty:
            if !criteria.isEmpty { object.log.add(object.value("criteria") ?? object.value("criterias"), "operator '\(text)' of \(object.subject) takes no criteria") }
        case .oneOf, .notOf, .type:
            if criteria.isEmpty { object.log.add(object.node, "operator '\(text)' of \(object.subject) needs criteria") }
        }
        guard let root else { return nil }
        return MappingCondition(
            targetRoot: root, targetAttributes: attributes, attributePaths: attributePaths, operator: op, criteria: criteria,
            identifying: object.bool("identifying") ?? false, line: object.line)
    }

    /// A manual mapping: constants set on either side, under conditions (§Manual mappings).
    static func manual(_ node: Node, method: String, log: ProblemLog) -> ManualMapping? {
        guard let object = YAMLObject(node, "a manual mapping of '\(method)'", log: log) else { return nil }
        object.refuseUnknownKeys(["name", "fhir", "openehr", "fhirCondition", "openehrCondition", "unidirectional"])
        let name = object.string("name", required: true) ?? ""
        func assignments(_ key: String) -> [ManualMapping.Assignment] {
            object.list(key, allowingSingle: true).compactMap { node in
                guard let entry = YAMLObject(node, "'\(key)' of manual mapping '\(name)'", log: log) else { return nil }
                entry.refuseUnknownKeys(["path", "value"])
                guard let path = entry.string("path", required: true), let value = entry.string("value", required: true) else { return nil }
                return ManualMapping.Assignment(path: path, value: value)
            }
        }
        let fhir = assignments("fhir"), openEHR = assignments("openehr")
        if fhir.isEmpty, openEHR.isEmpty, object.value("fhir") == nil, object.value("openehr") == nil {
            log.add(object.node, "manual mapping '\(name)' of '\(method)' sets nothing (it needs fhir or openehr)")
        }
        return ManualMapping(
            name: name, fhir: fhir, openEHR: openEHR,
            fhirConditions: conditions(object, "fhirCondition", FHIRMappingPath.parse),
            openEHRConditions: conditions(object, "openehrCondition", OpenEHRMappingPath.parse),
            direction: direction(object, name: name))
    }
}
