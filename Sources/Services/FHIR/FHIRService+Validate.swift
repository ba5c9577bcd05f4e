import FHIR
import JSONCore
import Storage

/// `$validate` (R4 §Resource-validate operation): would this content be
/// accepted, in general or as a create, an update or a delete? Every issue is
/// returned, for the caller to answer 200 whether or not the resource is
/// valid; a thrown error means the validation itself could not be performed.
extension FHIRService {
    /// R4 resource-validation-mode (profile mode aside).
    public enum ValidationMode: String, Sendable, CaseIterable {
        case create, update, delete
    }

    public func validate(type: String, id: String?, resource: JSON?, mode: ValidationMode?, profile: String?) async throws -> [FHIRIssue] {
        try Self.requireType(type)
        if let id { try Self.requireID(id) }
        if mode == .update || mode == .delete, id == nil {
            throw ServiceError(.badRequest, "$validate with mode \(mode?.rawValue ?? "") is asked of a resource: \(type)/{id}/$validate")
        }
        var issues: [FHIRIssue]
        if mode == .delete, let id {
            issues = try await deletionIssues(type: type, id: id)
        } else {
            guard let resource else { throw ServiceError(.badRequest, "$validate needs the resource to validate (the body, or a Parameters with a `resource`)") }
            issues = try await contentIssues(resource, type: type, id: id, mode: mode, profile: profile)
        }
        if issues.isEmpty { issues = [FHIRIssue(.information, code: "informational", location: "", message: "no issues: the \(type) is valid")] }
        return issues
    }

    /// What a write of `resource` would meet: R4 itself, the profiles it
    /// claims and the one asked for, the id rules of the mode, and
    /// referential integrity.
    func contentIssues(_ resource: JSON, type: String, id: String?, mode: ValidationMode?, profile: String?) async throws -> [FHIRIssue] {
        guard resource["resourceType"]?.stringValue == type else {
            return [FHIRIssue(code: "structure", location: "", message: "the content is a \(resource["resourceType"]?.stringValue ?? "JSON value without resourceType"), not a \(type)")]
        }
        let registry = profiles.registry
        var issues = FHIRValidator.validate(resource) + ProfileValidator.validateClaimedProfiles(resource, registry: registry)
        if let profile {
            guard let held = registry.profile(profile) else {
                throw ServiceError(.badRequest, "the profile \(profile) is not loaded here: load its package with `socle fhir load-package`")
            }
            issues += ProfileValidator.validate(resource, against: held, registry: registry)
        }
        if mode == .update, let id, resource["id"]?.stringValue != id {
            issues.append(FHIRIssue(code: "invalid", location: "\(type).id", message: "an update of \(type)/\(id) carries the id '\(id)' (R4 §update)"))
        }
        if mode != nil {
            let written: Set<String> = id.map { [type + "/" + $0] } ?? []
            for missing in try await missingTargets(of: [resource], except: written).sorted() {
                issues.append(FHIRIssue(code: "not-found", location: type, message: "\(missing) does not exist here (referential integrity)"))
            }
        }
        return issues
    }

    /// What a delete of `Type/id` would meet: the resource must exist, and
    /// nothing may refer to it (referential integrity).
    func deletionIssues(type: String, id: String) async throws -> [FHIRIssue] {
        let reference = type + "/" + id
        guard try await store.liveRecords(objectIDs: [reference]).contains(reference) else {
            return [FHIRIssue(code: "not-found", location: "", message: "\(reference) does not exist or is deleted")]
        }
        return try await referrers(of: reference).map { referrer in
            FHIRIssue(code: "conflict", location: "", message: "\(referrer) refers to \(reference): it cannot be deleted (referential integrity)")
        }
    }
}
