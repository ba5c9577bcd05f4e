import HTTPTypes

/// The FHIR R4 RESTful API under `/fhir` (R4 §http): the interactions the
/// CapabilityStatement declares, at instance, type and system level.
extension APICatalogue {
    static let fhirMedia = ["application/fhir+json", "application/fhir+xml"]
    static let fhirFormat = [
        APIParameter("_format", "json or xml (or their media types), over Accept"), APIParameter("_pretty", "true: indented"),
    ]
    static let fhirSearch = fhirFormat + [
        APIParameter("_count", "Matches per page", example: "10"), APIParameter("_sort", "Sort order: parameters, - for descending"),
        APIParameter("_include", "Resources the matches refer to (Type:param[:Target])"), APIParameter("_revinclude", "Resources that refer to the matches"),
        APIParameter("_summary", "true, count, text, data or false"), APIParameter("_elements", "Elements to return"),
        APIParameter("_total", "none, estimate or accurate"),
    ]

    static func fhir(
        _ method: HTTPRequest.Method, _ path: String, _ summary: String, access: APIOperation.Access = .user, query: [APIParameter] = fhirFormat,
        headers: [APIParameter] = [], accepts: [String] = [], produces: [String] = fhirMedia, _ statuses: [Int]
    ) -> APIOperation {
        APIOperation(
            method: method, path: "/fhir" + path, tag: .fhir, summary: summary, access: access, query: query, headers: headers, accepts: accepts,
            produces: produces, statuses: statuses)
    }

    static let fhirPrefer = APIParameter("Prefer", "return=minimal, representation or OperationOutcome; handling=strict or lenient")
    static let fhirIfMatch = APIParameter("If-Match", "W/\"version\": update only that version")

    static let fhirOperations: [APIOperation] = [
        fhir(.get, "/metadata", "The CapabilityStatement", access: .open, [200, 406]),
        fhir(.get, "/AuditEvent", "The access trace as AuditEvents (IHE BALP), newest first: by patient, agent, date (ge, gt, le, lt) and _count; admin, or a patient's token for their own record",
             access: .user, [200, 400, 403, 404]),
        fhir(.get, "/AuditEvent/{id}", "One entry of the access trace as an AuditEvent, by the number the search gives; admin, or a patient's token for an entry naming their record",
             access: .user, [200, 403, 404]),
        fhir(.get, "/.well-known/smart-configuration", "SMART App Launch configuration: the OpenID Connect issuer's endpoints and the scopes Socle honours (404 without SOCLE_OIDC_ISSUER)",
             access: .open, [200, 404, 503]),
        fhir(.post, "", "A batch or transaction Bundle", headers: [fhirPrefer], accepts: fhirMedia, [200, 404, 406, 409, 412, 415, 422]),
        fhir(.get, "", "Search several types at once (_type)", query: fhirSearch + [APIParameter("_type", "Types searched, comma-separated")],
             [200, 400, 406]),
        fhir(.post, "/_search", "Search several types, parameters in a form body", query: fhirFormat, accepts: ["application/x-www-form-urlencoded"],
             [200, 406, 415]),
        fhir(.get, "/_history", "The history of every resource", query: fhirFormat + [APIParameter("_since", "Changes after this instant"), APIParameter("_count", "Entries per page")],
             [200, 400, 406]),
        fhir(.get, "/{type}", "Search a type", query: fhirSearch, headers: [fhirPrefer], [200, 400, 404, 406]),
        fhir(.post, "/{type}", "Create a resource (conditionally with If-None-Exist)",
             headers: [fhirPrefer, APIParameter("If-None-Exist", "Search criteria: create only when nothing matches")], accepts: fhirMedia,
             [200, 201, 404, 406, 409, 412, 415, 422]),
        fhir(.put, "/{type}", "Conditional update: the resource the search parameters of the query string match",
             headers: [fhirPrefer], accepts: fhirMedia, [200, 201, 400, 404, 406, 409, 412, 415, 422]),
        fhir(.delete, "/{type}", "Conditional delete: the resources the search parameters of the query string match",
             [200, 204, 400, 404, 409, 412]),
        fhir(.post, "/{type}/_search", "Search a type, parameters in a form body", accepts: ["application/x-www-form-urlencoded"], [200, 404, 406, 415]),
        fhir(.get, "/{type}/_history", "The history of a type", query: fhirFormat + [APIParameter("_since", "Changes after this instant"), APIParameter("_count", "Entries per page")],
             [200, 400, 404, 406]),
        fhir(.post, "/{type}/$validate", "Validate a resource (R4 §Resource $validate)",
             query: fhirFormat + [APIParameter("mode", "create, update or delete"), APIParameter("profile", "A profile's canonical URL")],
             accepts: fhirMedia, [200, 400, 404, 406, 415, 422]),
        fhir(.get, "/{type}/{id}", "Read a resource", [200, 304, 400, 404, 406, 410]),
        fhir(.put, "/{type}/{id}", "Update a resource, or create it with that id", headers: [fhirPrefer, fhirIfMatch], accepts: fhirMedia,
             [200, 201, 400, 404, 406, 409, 412, 415, 422]),
        fhir(.patch, "/{type}/{id}", "Patch a resource (JSON Patch or FHIRPath Patch)", headers: [fhirPrefer, fhirIfMatch],
             accepts: ["application/json-patch+json", "application/fhir+json"], [200, 404, 406, 409, 412, 415, 422]),
        fhir(.delete, "/{type}/{id}", "Delete a resource", [200, 204, 400, 404, 409]),
        fhir(.get, "/{type}/{id}/_history", "A resource's history", query: fhirFormat + [APIParameter("_since", "Changes after this instant"), APIParameter("_count", "Entries per page")],
             [200, 400, 404, 406, 410]),
        fhir(.get, "/{type}/{id}/_history/{vid}", "Read a version of a resource", [200, 400, 404, 406, 410]),
        fhir(.get, "/{type}/{id}/$validate", "Validate a stored resource", query: fhirFormat + [APIParameter("mode", "delete"), APIParameter("profile", "A profile's canonical URL")],
             [200, 400, 404, 406, 410]),
        fhir(.post, "/{type}/{id}/$validate", "Validate a resource as an update or delete of this one",
             query: fhirFormat + [APIParameter("mode", "update or delete"), APIParameter("profile", "A profile's canonical URL")], accepts: fhirMedia,
             [200, 400, 404, 406, 410, 415, 422]),
        fhir(.get, "/{type}/{id}/$everything", "Everything in a patient's compartment (Patient $everything)",
             query: fhirFormat + [APIParameter("_count", "Entries per page"), APIParameter("_since", "Changed after"), APIParameter("_type", "Types returned")],
             [200, 400, 404, 406, 410]),
        fhir(.get, "/{type}/{id}/{searched}", "Search in a compartment (Patient/123/Observation)", query: fhirSearch, [200, 400, 404, 406]),
    ]
}
