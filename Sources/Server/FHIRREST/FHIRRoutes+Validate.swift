import FHIR
import Hummingbird
import JSONCore
import Services

/// `$validate` (R4 §Resource-validate operation) at type and instance
/// level: the resource as the body, or a Parameters with `resource`, `mode`
/// and `profile` (also accepted in the query). The answer is 200 with an
/// OperationOutcome whether or not the resource is valid; 4xx when the
/// validation cannot be performed (unknown type or mode, no resource, a
/// profile not held).
extension FHIRRoutes {
    func registerValidate(on group: RouterGroup<SocleRequestContext>) {
        group.post(":type/$validate") { request, context in try await validate(request, context, instance: false) }
        group.post(":type/:id/$validate") { request, context in try await validate(request, context, instance: true) }
        group.get(":type/:id/$validate") { request, context in try await validate(request, context, instance: true) }
    }

    func validate(_ request: Request, _ context: SocleRequestContext, instance: Bool) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let type = try context.parameters.require("type")
        let id = instance ? try context.parameters.require("id") : nil
        var (resource, modeText, profile) = (Optional<JSON>.none, request.queryParameter("mode"), request.queryParameter("profile"))
        if request.method == .post, let body = try await FHIRFormat.body(request, limit: bodyLimit) {
            if body["resourceType"]?.stringValue == "Parameters", type != "Parameters" {
                for parameter in body["parameter"]?.arrayValue ?? [] {
                    switch parameter["name"]?.stringValue {
                    case "resource": resource = parameter["resource"]
                    case "mode": modeText = parameter["valueCode"]?.stringValue ?? modeText
                    case "profile": profile = (parameter["valueUri"] ?? parameter["valueCanonical"])?.stringValue ?? profile
                    default: continue
                    }
                }
            } else {
                resource = body
            }
        }
        let mode = try modeText.map { text in
            guard let mode = FHIRService.ValidationMode(rawValue: text) else {
                throw ServiceError(.badRequest, "mode must be one of \(FHIRService.ValidationMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
            }
            return mode
        }
        if resource == nil, let id, mode != .delete {
            // Type/id/$validate without a resource: the stored one, as it is.
            resource = try await service.read(type: type, id: id).json
        }
        let issues = try await service.validate(type: type, id: id, resource: resource, mode: mode, profile: profile)
        return .fhir(.ok, issues.operationOutcome, format: format, pretty: request.fhirPretty)
    }
}
