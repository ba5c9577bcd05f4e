import HTTPTypes

/// The openEHR REST API (ITS-REST 1.0.3, with the 1.1 headers), under
/// `/openehr/v1` and again under `/rest/openehr/v1`.
extension APICatalogue {
    static let openEHRBase = "/openehr/v1"

    static let rmMedia = ["application/json", "application/xml"]
    static let compositionMedia = [
        "application/json", "application/xml", CompositionFormat.flatMediaType, CompositionFormat.structuredMediaType,
    ]

    static let versionAtTime = APIParameter("version_at_time", "The version current at this time (ISO 8601 date-time)", example: "2026-01-01T00:00:00Z")
    static let prefer = APIParameter("Prefer", "return=minimal (default: no body) or return=representation (RFC 7240)")
    static let ifMatch = APIParameter("If-Match", "The version uid being replaced, quoted (RFC 9110 §13.1.1)", required: true)
    static let auditHeaders = [
        APIParameter("openehr-audit-details", "The contribution's audit details (ITS-REST 1.1): committer, change type, description"),
        APIParameter("openEHR-AUDIT_DETAILS.committer", "The committer (ITS-REST 1.0.3)"),
    ]
    static let itemTagHeaders = [
        APIParameter("openehr-item-tag", "Item tags put on the new version (ITS-REST 1.1)"),
    ]

    static func openEHR(
        _ method: HTTPRequest.Method, _ path: String, _ tag: APITag, _ summary: String, query: [APIParameter] = [], headers: [APIParameter] = [],
        accepts: [String] = [], produces: [String] = ["application/json"], _ statuses: [Int]
    ) -> APIOperation {
        APIOperation(
            method: method, path: openEHRBase + path, tag: tag, summary: summary, query: query, headers: headers, accepts: accepts,
            produces: produces, statuses: statuses)
    }

    static let openEHR: [APIOperation] = ehrOperations + compositionOperations + definitionOperations + queryOperations

    static let ehrOperations: [APIOperation] = [
        openEHR(.post, "/ehr", .ehr, "Create an EHR, with an EHR_STATUS if given", headers: [prefer] + auditHeaders, accepts: rmMedia, produces: rmMedia,
                [201, 204, 406, 409, 415, 422]),
        openEHR(.get, "/ehr", .ehr, "Find the EHR of a subject",
                query: [APIParameter("subject_id", "The subject's id", required: true, example: "ins-1"),
                        APIParameter("subject_namespace", "The subject id's namespace", required: true, example: "ins")],
                produces: rmMedia, [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}", .ehr, "Read an EHR", produces: rmMedia, [200, 400, 404, 406]),
        openEHR(.put, "/ehr/{ehr_id}", .ehr, "Create an EHR with the given id", headers: [prefer] + auditHeaders, accepts: rmMedia, produces: rmMedia,
                [201, 204, 406, 409, 415, 422]),
        openEHR(.get, "/ehr/{ehr_id}/ehr_status", .ehrStatus, "Read the EHR_STATUS (at a time)", query: [versionAtTime], produces: rmMedia,
                [200, 400, 404, 406]),
        openEHR(.put, "/ehr/{ehr_id}/ehr_status", .ehrStatus, "Update the EHR_STATUS", headers: [ifMatch, prefer] + auditHeaders, accepts: rmMedia,
                produces: rmMedia, [200, 204, 404, 406, 409, 412, 415, 422]),
        openEHR(.get, "/ehr/{ehr_id}/ehr_status/{version_uid}", .ehrStatus, "Read a version of the EHR_STATUS", produces: rmMedia, [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}/versioned_ehr_status", .ehrStatus, "Read the VERSIONED_EHR_STATUS", [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}/versioned_ehr_status/revision_history", .ehrStatus, "The EHR_STATUS's revision history", [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}/versioned_ehr_status/version", .ehrStatus, "The EHR_STATUS's ORIGINAL_VERSION (at a time)", query: [versionAtTime],
                produces: rmMedia, [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}/versioned_ehr_status/version/{version_uid}", .ehrStatus, "An ORIGINAL_VERSION of the EHR_STATUS",
                produces: rmMedia, [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}/directory", .directory, "Read the directory (at a time, or one folder by path)",
                query: [versionAtTime, APIParameter("path", "A folder's path by names, e.g. episodes/a")], produces: rmMedia, [200, 204, 400, 404, 406]),
        openEHR(.post, "/ehr/{ehr_id}/directory", .directory, "Create the directory", headers: [prefer] + auditHeaders, accepts: rmMedia,
                produces: rmMedia, [201, 204, 404, 406, 409, 415, 422]),
        openEHR(.put, "/ehr/{ehr_id}/directory", .directory, "Replace the directory", headers: [ifMatch, prefer] + auditHeaders, accepts: rmMedia,
                produces: rmMedia, [200, 204, 404, 406, 409, 412, 415, 422]),
        openEHR(.delete, "/ehr/{ehr_id}/directory", .directory, "Delete the directory", headers: [ifMatch] + auditHeaders, produces: [],
                [204, 400, 404, 409, 412]),
        openEHR(.get, "/ehr/{ehr_id}/directory/{version_uid}", .directory, "Read a version of the directory",
                query: [APIParameter("path", "A folder's path by names")], produces: rmMedia, [200, 204, 400, 404, 406]),
        openEHR(.post, "/ehr/{ehr_id}/contribution", .contribution, "Commit a contribution of several versions", headers: [prefer] + auditHeaders,
                accepts: rmMedia, produces: rmMedia, [201, 204, 404, 406, 409, 412, 415, 422]),
        openEHR(.get, "/ehr/{ehr_id}/contribution/{contribution_uid}", .contribution, "Read a contribution", produces: rmMedia, [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}/tags", .tags, "Every item tag of the EHR", [200, 400, 404, 406]),
    ] + tagOperations("ehr_status", "version_uid") + tagOperations("composition", "uid")

    static func tagOperations(_ resource: String, _ capture: String) -> [APIOperation] {
        let path = "/ehr/{ehr_id}/\(resource)/{\(capture)}/tags"
        return [
            openEHR(.get, path, .tags, "The item tags of a \(resource) version", [200, 400, 404, 406]),
            openEHR(.put, path, .tags, "Put item tags on a \(resource) version", accepts: ["application/json"], [200, 404, 406, 415, 422]),
            openEHR(.delete, path + "/{key}", .tags, "Remove an item tag from a \(resource) version", produces: [], [204, 400, 404]),
        ]
    }

    static let compositionOperations: [APIOperation] = [
        openEHR(.post, "/ehr/{ehr_id}/composition", .composition, "Create a composition",
                query: [APIParameter("templateId", "The template of a FLAT or STRUCTURED body"), APIParameter("format", "FLAT or STRUCTURED (ITS-REST 1.1)")],
                headers: [prefer, APIParameter("openehr-template-id", "The template of a FLAT or STRUCTURED body")] + auditHeaders + itemTagHeaders,
                accepts: compositionMedia, produces: compositionMedia, [201, 204, 404, 406, 409, 415, 422]),
        openEHR(.get, "/ehr/{ehr_id}/composition/{uid}", .composition, "Read a composition (latest, at a time, or a version)",
                query: [versionAtTime, APIParameter("format", "FLAT or STRUCTURED (ITS-REST 1.1)")], produces: compositionMedia, [200, 204, 400, 404, 406]),
        openEHR(.put, "/ehr/{ehr_id}/composition/{uid}", .composition, "Update a composition",
                headers: [ifMatch, prefer, APIParameter("openehr-template-id", "The template of a FLAT or STRUCTURED body")] + auditHeaders + itemTagHeaders,
                accepts: compositionMedia, produces: compositionMedia, [200, 204, 404, 406, 409, 412, 415, 422]),
        openEHR(.delete, "/ehr/{ehr_id}/composition/{uid}", .composition, "Delete a composition", headers: [APIParameter("If-Match", "The version deleted")] + auditHeaders,
                produces: [], [204, 400, 404, 409, 412]),
        openEHR(.get, "/ehr/{ehr_id}/versioned_composition/{object_id}", .composition, "Read a VERSIONED_COMPOSITION", [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}/versioned_composition/{object_id}/revision_history", .composition, "A composition's revision history",
                [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}/versioned_composition/{object_id}/version", .composition, "A composition's ORIGINAL_VERSION (at a time)",
                query: [versionAtTime], produces: rmMedia, [200, 400, 404, 406]),
        openEHR(.get, "/ehr/{ehr_id}/versioned_composition/{object_id}/version/{version_uid}", .composition, "An ORIGINAL_VERSION of a composition",
                produces: rmMedia, [200, 400, 404, 406]),
    ]

    static let definitionOperations: [APIOperation] = [
        openEHR(.post, "/definition/template/adl1.4", .definition, "Upload an operational template (OPT 1.4)", headers: [prefer],
                accepts: ["application/xml"], produces: ["application/xml"], [201, 409, 415, 422]),
        openEHR(.get, "/definition/template/adl1.4", .definition, "List the templates", [200, 406]),
        openEHR(.get, "/definition/template/adl1.4/{template_id}", .definition, "Read a template: the OPT, or its web template",
                produces: ["application/xml", "application/openehr.wt+json"], [200, 404, 406]),
        openEHR(.get, "/definition/template/adl1.4/{template_id}/example", .definition, "An example composition of a template",
                query: [APIParameter("format", "FLAT or STRUCTURED")], produces: compositionMedia, [200, 400, 404, 406]),
        openEHR(.get, "/definition/query", .definition, "List the stored queries", [200, 406]),
        openEHR(.get, "/definition/query/{qualified_name}", .definition, "The versions of a stored query", [200, 400, 404, 406]),
        openEHR(.get, "/definition/query/{qualified_name}/{version}", .definition, "A stored query", [200, 400, 404, 406]),
        openEHR(.put, "/definition/query/{qualified_name}", .definition, "Store a query (next version)",
                query: [APIParameter("type", "AQL")], accepts: ["text/plain", "application/json"], [200, 409, 415]),
        openEHR(.put, "/definition/query/{qualified_name}/{version}", .definition, "Store a query at a version",
                query: [APIParameter("type", "AQL")], accepts: ["text/plain", "application/json"], [200, 409, 415]),
    ]

    static let aqlQuery = [
        APIParameter("offset", "Rows skipped", example: "0"), APIParameter("fetch", "Rows returned at most", example: "10"),
        APIParameter("query_parameters", "A parameter as name=value; repeatable"), APIParameter("explain", "true: the plan with the rows"),
    ]

    static let queryOperations: [APIOperation] = [
        openEHR(.get, "/query/aql", .query, "Run an AQL query", query: [APIParameter("q", "The AQL query", required: true, example: "SELECT e/ehr_id/value FROM EHR e")] + aqlQuery,
                [200, 400, 406, 408]),
        openEHR(.post, "/query/aql", .query, "Run an AQL query given in the body", query: aqlQuery, accepts: ["application/json"], [200, 406, 408, 415]),
        openEHR(.get, "/query/{qualified_name}", .query, "Run the latest version of a stored query", query: aqlQuery, [200, 400, 404, 406, 408]),
        openEHR(.post, "/query/{qualified_name}", .query, "Run the latest version of a stored query, parameters in the body", query: aqlQuery,
                accepts: ["application/json"], [200, 404, 406, 408, 415]),
        openEHR(.get, "/query/{qualified_name}/{version}", .query, "Run a stored query at a version", query: aqlQuery, [200, 400, 404, 406, 408]),
        openEHR(.post, "/query/{qualified_name}/{version}", .query, "Run a stored query at a version, parameters in the body", query: aqlQuery,
                accepts: ["application/json"], [200, 404, 406, 408, 415]),
    ]
}
