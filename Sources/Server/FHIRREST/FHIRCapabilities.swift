import FHIR
import JSONCore
import OpenEHR
import Services

/// What the FHIR face does, as one table the routes and the
/// CapabilityStatement (R4 §CapabilityStatement) are both read from: a
/// capability is declared here when its route exists, and the tests
/// exercise every one declared (FHIRCapabilityTests).
enum FHIRCapabilities {
    /// R4 TypeRestfulInteraction codes served for every resource type.
    static let typeInteractions = ["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"]
    /// R4 SystemRestfulInteraction codes.
    static let systemInteractions = ["transaction", "batch", "history-system", "search-system"]
    static let formats = ["application/fhir+json", "application/fhir+xml", "json", "xml"]
    static let patchFormats = ["application/json-patch+json", "application/merge-patch+json", "application/fhir+json", "application/fhir+xml"]
    /// Operations on every resource type (name, definition), as `FHIRRoutes+Validate` serves them.
    static let typeOperations = [("validate", "http://hl7.org/fhir/OperationDefinition/Resource-validate")]
    /// Operations of one resource type (`FHIRRoutes+Search`).
    static let operationsOfType = ["Patient": [("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything")]]

    /// R4 CapabilityStatement.rest.security: HTTP Basic, and SMART on FHIR
    /// (bearer tokens of the configured issuer, endpoints at `.well-known/smart-configuration`).
    static func security(smart: Bool) -> JSON {
        let system = "http://terminology.hl7.org/CodeSystem/restful-security-service"
        var services: [JSON] = [["coding": [["system": .string(system), "code": "Basic"]]]]
        if smart { services.insert(["coding": [["system": .string(system), "code": "SMART-on-FHIR"]]], at: 0) }
        let description =
            smart
            ? "OpenID Connect bearer tokens with SMART App Launch 2.0 scopes (v1 accepted) and patient context, or HTTP Basic; see .well-known/smart-configuration."
            : "HTTP Basic."
        return ["cors": false, "service": .array(services), "description": .string(description)]
    }

    static func statement(
        version: String, base: String, profiles: ProfileRegistry, conditionalDelete: FHIRService.ConditionalDelete, smart: Bool = false
    ) -> JSON {
        let supported = profiles.profilesByType
        let resources: [JSON] = FHIRService.resourceTypes.map { type in
            var object = JSONObject([
                ("type", .string(type)),
                ("interaction", .array(typeInteractions.map { ["code": .string($0)] })),
                ("versioning", "versioned"),
                ("readHistory", true),
                ("updateCreate", true),
                ("conditionalCreate", true),
                ("conditionalRead", "full-support"),
                ("conditionalUpdate", true),
                ("conditionalDelete", .string(conditionalDelete.rawValue)),
                ("referencePolicy", ["literal", "local"]),
                ("operation", .array((typeOperations + (operationsOfType[type] ?? [])).map { ["name": .string($0.0), "definition": .string($0.1)] })),
                ("searchParam", .array(FHIRService.supportedSearchParameters(of: type).map { parameter in
                    ["name": .string(parameter.code), "definition": .string(parameter.url), "type": .string(parameter.type.rawValue)]
                })),
            ])
            if let urls = supported[type] { object["supportedProfile"] = .array(urls.map { .string($0) }) }
            return .object(object)
        }
        let rest = JSON.object(JSONObject([
            ("mode", "server"),
            ("documentation", "FHIR R4 on Socle's version store: every write is an audited contribution, every version kept."),
            ("security", security(smart: smart)),
            ("resource", .array(resources)),
            ("interaction", .array(systemInteractions.map { ["code": .string($0)] })),
        ]))
        return .object(JSONObject([
            ("resourceType", "CapabilityStatement"),
            ("status", "active"),
            ("date", .string(generated)),
            ("kind", "instance"),
            ("software", ["name": "Socle", "version": .string(version)]),
            ("implementation", ["description": "Socle FHIR R4 server", "url": .string(base)]),
            ("fhirVersion", "4.0.1"),
            ("format", .array(formats.map { .string($0) })),
            ("patchFormat", .array(patchFormats.map { .string($0) })),
            ("rest", [rest]),
        ]))
    }
}

extension FHIRCapabilities {
    /// When this server made its statement (the first time it was asked).
    static let generated = ISODateTime.now().description
}
