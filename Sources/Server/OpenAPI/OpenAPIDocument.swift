import JSONCore

/// `/openapi.json` and `/openapi.yaml`: the catalogue (`APICatalogue`)
/// written as an OpenAPI 3.0.3 document. Errors are described by surface:
/// the openEHR error JSON (`error`, `message`, `problems` with paths) and,
/// under `/fhir`, an OperationOutcome.
enum OpenAPIDocument {
    static func json(version: String, operations: [APIOperation] = APICatalogue.all) -> JSON {
        var paths: [(String, JSONObject)] = []
        for operation in operations {
            let rendered = Self.operation(operation)
            if let index = paths.firstIndex(where: { $0.0 == operation.path }) {
                paths[index].1[operation.method.rawValue.lowercased()] = rendered
            } else {
                paths.append((operation.path, JSONObject([(operation.method.rawValue.lowercased(), rendered)])))
            }
        }
        return [
            "openapi": "3.0.3",
            "info": [
                "title": "Socle",
                "version": .string(version),
                "description": .string(description),
            ],
            "servers": [["url": "/"]],
            "tags": .array(APITag.allCases.map { ["name": .string($0.rawValue), "description": .string($0.description)] }),
            "security": [["basic": []], ["bearer": []]],
            "paths": .object(JSONObject(paths.map { ($0.0, .object($0.1)) })),
            "components": components,
        ]
    }

    static let description = """
        Socle, an openEHR repository with a FHIR R4 face. The openEHR API, the admin API, status, health and metrics \
        are also served under /rest (/rest/openehr/v1/…), as clients written for EHRbase call them. \
        Authentication: HTTP Basic (SOCLE_USERS), or an OpenID Connect bearer token when SOCLE_OIDC_ISSUER is set; \
        the operations marked with no security are public.
        """

    static let components: JSON = [
        "securitySchemes": [
            "basic": ["type": "http", "scheme": "basic"],
            "bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An access token of the issuer SOCLE_OIDC_ISSUER names"],
        ],
        "schemas": [
            "Error": [
                "type": "object",
                "description": "An openEHR API error: what failed, and for a document every problem with its path.",
                "properties": [
                    "error": ["type": "string"], "message": ["type": "string"], "request_id": ["type": "string"],
                    "problems": [
                        "type": "array",
                        "items": ["type": "object", "properties": ["path": ["type": "string"], "message": ["type": "string"]]],
                    ],
                ],
                "required": ["error", "message"],
            ],
            "OperationOutcome": [
                "type": "object",
                "description": "A FHIR R4 OperationOutcome (http://hl7.org/fhir/R4/operationoutcome.html).",
                "properties": ["resourceType": ["type": "string", "enum": ["OperationOutcome"]], "issue": ["type": "array", "items": ["type": "object"]]],
                "required": ["resourceType", "issue"],
            ],
        ],
    ]

    static func operation(_ operation: APIOperation) -> JSON {
        var object = JSONObject([
            ("tags", [.string(operation.tag.rawValue)]), ("summary", .string(operation.summary)), ("operationId", .string(operation.operationID)),
        ])
        let parameters = operation.pathParameters.map { name in
            parameter(APIPathParameters.all[name] ?? APIParameter(name, name), in: "path", required: true)
        }
        + operation.query.map { parameter($0, in: "query", required: $0.required) }
        + operation.headers.map { parameter($0, in: "header", required: $0.required) }
        if !parameters.isEmpty { object["parameters"] = .array(parameters) }
        if !operation.accepts.isEmpty {
            object["requestBody"] = ["required": true, "content": .object(JSONObject(operation.accepts.map { ($0, ["schema": [:]]) }))]
        }
        object["responses"] = .object(JSONObject(operation.allStatuses.map { (String($0), response($0, of: operation)) }))
        if operation.access == .open { object["security"] = [] }
        if operation.access == .admin { object["description"] = "Admin role." }
        return .object(object)
    }

    static func parameter(_ parameter: APIParameter, in location: String, required: Bool) -> JSON {
        var object = JSONObject([
            ("name", .string(parameter.name)), ("in", .string(location)), ("description", .string(parameter.description)), ("required", .bool(required)),
            ("schema", ["type": "string"]),
        ])
        if let example = parameter.example { object["example"] = .string(example) }
        return .object(object)
    }

    static func response(_ status: Int, of operation: APIOperation) -> JSON {
        var object = JSONObject([("description", .string(reason(status)))])
        if (200..<300).contains(status), status != 204, !operation.produces.isEmpty {
            object["content"] = .object(JSONObject(operation.produces.map { ($0, ["schema": [:]]) }))
        } else if status >= 400 {
            let fhir = operation.path.hasPrefix("/fhir")
            let schema: JSON = ["$ref": .string("#/components/schemas/" + (fhir ? "OperationOutcome" : "Error"))]
            object["content"] = .object(JSONObject([(fhir ? "application/fhir+json" : "application/json", ["schema": schema])]))
        }
        return .object(object)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No content (Prefer: return=minimal, a deleted version, nothing at that path)"
        case 304: "Not modified"
        case 400: "Bad request: the body says what, where and why"
        case 401: "No valid credentials"
        case 403: "Credentials without the role this needs"
        case 404: "Not found"
        case 405: "Method not allowed"
        case 406: "None of the accepted media types can be given"
        case 408: "The query ran past the statement timeout"
        case 409: "Conflict: already exists, or still in use"
        case 410: "Gone: deleted"
        case 412: "Precondition failed: not the latest version, or several matches"
        case 413: "The request body is larger than SOCLE_MAX_BODY_SIZE"
        case 415: "Unsupported media type"
        case 422: "Unprocessable: the content breaks its template, profile or the RM, every problem with its path"
        case 503: "Unavailable: too many requests in flight, or an index being rebuilt"
        default: "Status \(status)"
        }
    }

    /// The document in YAML: block style, every string double-quoted with
    /// JSON's escapes (which YAML's double-quoted scalars share).
    static func yaml(_ value: JSON) -> String {
        var output = ""
        writeYAML(value, indent: 0, into: &output)
        return output
    }

    static func writeYAML(_ value: JSON, indent: Int, into output: inout String) {
        let pad = String(repeating: " ", count: indent)
        switch value {
        case .object(let object) where !object.isEmpty:
            for key in object.keys {
                let member = object[key] ?? .null
                output += pad + scalar(.string(key)) + ":"
                if isBlock(member) {
                    output += "\n"
                    writeYAML(member, indent: indent + 2, into: &output)
                } else {
                    output += " " + scalar(member) + "\n"
                }
            }
        case .array(let items) where !items.isEmpty:
            for item in items {
                if isBlock(item) {
                    output += pad + "-\n"
                    writeYAML(item, indent: indent + 2, into: &output)
                } else {
                    output += pad + "- " + scalar(item) + "\n"
                }
            }
        default:
            output += pad + scalar(value) + "\n"
        }
    }

    static func isBlock(_ value: JSON) -> Bool {
        switch value {
        case .object(let object): !object.isEmpty
        case .array(let items): !items.isEmpty
        default: false
        }
    }

    static func scalar(_ value: JSON) -> String {
        switch value {
        case .object: "{}"
        case .array: "[]"
        default: JSONSerializer.string(value)
        }
    }
}
