import HTTPTypes

/// Every operation Socle serves, by surface: the one list `/openapi.json`
/// and `/docs` are written from. A test holds it to the router's route
/// table in both directions and calls every operation it names.
enum APICatalogue {
    static let all: [APIOperation] = operations + openEHR + adminOperations + fhirOperations

    /// Operations served at the root and again under `/rest` (the openEHR
    /// API, admin, status, health, metrics), as EHRbase's clients call them.
    static func isMirroredUnderRest(_ operation: APIOperation) -> Bool {
        !(operation.path == "/" || operation.path.hasPrefix("/fhir") || operation.path.hasPrefix("/openapi") || operation.path == "/docs")
    }

    static let operations: [APIOperation] = [
        APIOperation(method: .get, path: "/", tag: .operations, summary: "Where the APIs are: JSON for a client, a page for a browser", access: .open,
                     produces: ["application/json", "text/html"], statuses: [200]),
        APIOperation(method: .get, path: "/docs", tag: .operations, summary: "This description, to read and try in a browser", access: .open,
                     produces: ["text/html"], statuses: [200]),
        APIOperation(method: .get, path: "/openapi.json", tag: .operations, summary: "This description (OpenAPI 3.0, JSON)", access: .open, statuses: [200]),
        APIOperation(method: .get, path: "/openapi.yaml", tag: .operations, summary: "This description (OpenAPI 3.0, YAML)", access: .open,
                     produces: ["application/yaml"], statuses: [200]),
        APIOperation(method: .get, path: "/status", tag: .operations, summary: "Version, database kind, schema version, system id", access: .open, statuses: [200]),
        APIOperation(method: .get, path: "/health/live", tag: .operations, summary: "Liveness: the process answers", access: .open, statuses: [200]),
        APIOperation(method: .get, path: "/health/ready", tag: .operations, summary: "Readiness: database, schema, projections; 503 when one fails",
                     access: .open, statuses: [200]),
        APIOperation(method: .get, path: "/metrics", tag: .operations, summary: "Prometheus metrics (admin unless SOCLE_METRICS=public; 404 when off)",
                     access: .admin, produces: ["text/plain"], statuses: [200, 404]),
    ]

    static func admin(_ method: HTTPRequest.Method, _ path: String, _ summary: String, query: [APIParameter] = [], accepts: [String] = [],
                      produces: [String] = [], _ statuses: [Int]) -> APIOperation {
        APIOperation(method: method, path: "/admin" + path, tag: .admin, summary: summary, access: .admin, query: query, accepts: accepts,
                     produces: produces, statuses: statuses)
    }

    static let adminOperations: [APIOperation] = [
        admin(.delete, "/ehr/all", "Erase the EHRs named (ehr_id=…, repeatable); all at once is refused (405)",
              query: [APIParameter("ehr_id", "An EHR to erase; repeatable or comma-separated")], [204, 400, 404, 405]),
        admin(.delete, "/ehr/{ehr_id}", "Erase an EHR and every version in it (the erasure is audited)", [204, 400, 404]),
        admin(.delete, "/patient/{patient_id}", "Erase a FHIR patient and their compartment", [204, 400, 404]),
        admin(.get, "/changes", "The change feed: every committed version after a sequence number",
              query: [APIParameter("after", "Sequence number", example: "0"), APIParameter("limit", "Entries at most", example: "100")],
              produces: ["application/json"], [200, 400]),
        admin(.delete, "/query/{qualified_name}/{version}", "Delete a stored query version", [204, 400, 404]),
        admin(.get, "/access-log", "The access trace, newest first: who accessed which patient's data, when, how, from where, with what outcome",
              query: [
                APIParameter("patient", "EHR/{ehr_id}, Patient/{id}, or a bare id (either)"),
                APIParameter("from", "Entries at or after this ISO 8601 date-time", example: "2026-01-01T00:00:00Z"),
                APIParameter("to", "Entries before this ISO 8601 date-time"), APIParameter("limit", "Entries at most (1 to 10000)", example: "100"),
              ], produces: ["application/json"], [200, 400, 404]),
        admin(.get, "/mappings", "The FHIRconnect mappings in force (the shipped set or the SOCLE_MAPPINGS folder's files, those added through the API over them): each file with its source, status and problems, each context with its template and profile",
              produces: ["application/json"], [200]),
        admin(.put, "/mappings/{file}", "Add or replace a FHIRconnect file (its YAML text): checked (422 with file:line), stored as an audited version, in force at once, the FHIR view rebuilt (a file of the shipped set or folder is replaced by it); 409 with SOCLE_MAPPINGS=none",
              accepts: ["application/yaml"], produces: ["application/json"], [200, 400, 409, 422]),
        admin(.delete, "/mappings/{file}", "Remove a FHIRconnect file added through the API (its versions stay); a shipped or folder file is 409",
              produces: ["application/json"], [200, 400, 404, 409]),
        admin(.get, "/mappings/{file}/history", "Every version of a FHIRconnect file added through the API, with its audit and text",
              produces: ["application/json"], [200, 400, 404, 409]),
        admin(.get, "/fhir/explain/{type}", "The SQL of a FHIR search (its parameters in the query string, as for GET /fhir/{type}), its bound values and the database's plan",
              produces: ["application/json"], [200, 400, 404]),
        admin(.put, "/template/{template_id}", "Replace a template (refused when stored compositions would not validate)",
              accepts: ["application/xml"], produces: ["application/json"], [200, 404, 409, 415, 422]),
        admin(.delete, "/template/{template_id}", "Delete a template no composition uses", produces: ["application/json"], [200, 400, 404, 409]),
        admin(.delete, "/template/all", "Delete every template no composition uses", produces: ["application/json"], [200, 409]),
    ]
}
