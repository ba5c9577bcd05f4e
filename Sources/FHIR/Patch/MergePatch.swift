import JSONCore

/// JSON Merge Patch (RFC 7386): the patch's members replace the target's,
/// objects merged member by member, `null` removing a member. R4 defines
/// JSON Patch and FHIRPath Patch; clients written for Aidbox (fhirpy's
/// `patch` and `save(fields:)`) send a merge patch of the resource.
public enum MergePatch {
    public static func apply(_ patch: JSON, to target: JSON) -> JSON {
        guard case .object(let changes) = patch else { return patch }
        var result: JSONObject
        if case .object(let object) = target { result = object } else { result = JSONObject() }
        for (key, value) in changes.members {
            if value == .null {
                result[key] = Optional<JSON>.none
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }
}
