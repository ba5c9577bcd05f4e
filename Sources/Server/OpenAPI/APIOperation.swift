import HTTPTypes

/// One operation Socle serves, as `/openapi.json` describes it: the method
/// and path template (the router's own, `{name}` for a capture), who may call
/// it, its query parameters and headers, the media types of its body and its
/// answer, and every status it answers with. The catalogue of these
/// (`APICatalogue`) is checked against the router's route table by a test,
/// which also calls each operation and finds its answer among the documented ones.
struct APIOperation: Sendable {
    enum Access: Sendable {
        /// No credentials: health, the root, the API description, FHIR metadata.
        case open
        /// A signed-in user whose roles allow it (`AccessPolicy`).
        case user
        /// The admin role.
        case admin
    }

    var method: HTTPRequest.Method
    var path: String
    var tag: APITag
    var summary: String
    var access: Access = .user
    var query: [APIParameter] = []
    var headers: [APIParameter] = []
    /// Media types of the request body; none: the operation takes no body.
    var accepts: [String] = []
    /// Media types of a successful answer's body.
    var produces: [String] = ["application/json"]
    /// The statuses it answers with beside those every operation of its
    /// kind can answer (`allStatuses`).
    var statuses: [Int]

    /// The path's captures, in order (`{ehr_id}` → `ehr_id`).
    var pathParameters: [String] {
        path.split(separator: "/").compactMap { segment in
            guard let open = segment.firstIndex(of: "{"), let close = segment.firstIndex(of: "}") else { return nil }
            return String(segment[segment.index(after: open)..<close])
        }
    }

    /// Every status: its own, 401 and 403 for its access, 400 and 413 for
    /// a body, and 503 (a request bound or an index being rebuilt).
    var allStatuses: [Int] {
        var all = Set(statuses)
        switch access {
        case .open: break
        // 403: a role, a scope or a patient context that does not allow it (AccessPolicy).
        case .user, .admin: all.formUnion([401, 403])
        }
        if !accepts.isEmpty { all.formUnion([400, 413]) }
        all.insert(503)
        return all.sorted()
    }

    /// The operation id, unique in the document: method and path in words.
    var operationID: String {
        let words = path.split(separator: "/").map { segment -> String in
            let cleaned = segment.filter { $0.isLetter || $0.isNumber || $0 == "_" }
            return segment.hasPrefix("{") ? "by_" + cleaned : cleaned
        }
        return ([method.rawValue.lowercased()] + words.filter { !$0.isEmpty }).joined(separator: "_")
    }
}

/// A query parameter or header of an operation.
struct APIParameter: Sendable {
    var name: String
    var description: String
    var required = false
    /// An example value (also what the completeness test sends for a path capture).
    var example: String? = nil

    init(_ name: String, _ description: String, required: Bool = false, example: String? = nil) {
        self.name = name
        self.description = description
        self.required = required
        self.example = example
    }
}

/// The groups operations are listed under, in the order the document lists them.
enum APITag: String, CaseIterable, Sendable {
    case ehr = "openEHR EHR"
    case ehrStatus = "openEHR EHR_STATUS"
    case composition = "openEHR COMPOSITION"
    case directory = "openEHR directory"
    case contribution = "openEHR CONTRIBUTION"
    case tags = "openEHR item tags"
    case definition = "openEHR definitions"
    case query = "openEHR AQL"
    case fhir = "FHIR R4"
    case admin = "Administration"
    case operations = "Operations"

    var description: String {
        switch self {
        case .ehr: "EHRs (ITS-REST 1.0.3 and 1.1 §EHR). Also served under /rest, as EHRbase does."
        case .ehrStatus: "The EHR_STATUS and its versions (ITS-REST §EHR_STATUS)."
        case .composition: "Compositions in canonical JSON or XML, FLAT and STRUCTURED (ITS-REST §COMPOSITION)."
        case .directory: "The EHR's FOLDER hierarchy (ITS-REST §DIRECTORY)."
        case .contribution: "Several changes committed at once (ITS-REST §CONTRIBUTION)."
        case .tags: "Item tags on versions (ITS-REST 1.1)."
        case .definition: "Operational templates (ADL 1.4) and stored queries (ITS-REST §Definitions)."
        case .query: "AQL, ad hoc and stored (ITS-REST §Query)."
        case .fhir: "HL7 FHIR R4 RESTful API (http://hl7.org/fhir/R4/http.html). Errors are OperationOutcomes."
        case .admin: "Erasure, template replacement, mapping files, the change feed, search plans. Admin role."
        case .operations: "Health, metrics, status and this description."
        }
    }
}

/// The path captures every surface shares: what each is, and an example.
enum APIPathParameters {
    static let all: [String: APIParameter] = Dictionary(
        uniqueKeysWithValues: [
            APIParameter("ehr_id", "EHR id (a UUID)", example: "8e9cd2f0-5f3c-4c16-9a54-3c5b0a3f2a41"),
            APIParameter("uid", "A composition's versioned object id (UUID), or a version uid (UUID::system::version)",
                         example: "8e9cd2f0-5f3c-4c16-9a54-3c5b0a3f2a42::socle.local::1"),
            APIParameter("object_id", "Versioned object id (a UUID)", example: "8e9cd2f0-5f3c-4c16-9a54-3c5b0a3f2a43"),
            APIParameter("version_uid", "Version uid (UUID::system::version)", example: "8e9cd2f0-5f3c-4c16-9a54-3c5b0a3f2a44::socle.local::1"),
            APIParameter("contribution_uid", "Contribution uid (a UUID)", example: "8e9cd2f0-5f3c-4c16-9a54-3c5b0a3f2a45"),
            APIParameter("template_id", "Template id, percent-encoded", example: "no.such.template.v1"),
            APIParameter("qualified_name", "Stored query name (namespace::name), percent-encoded", example: "org.example::no_such_query"),
            APIParameter("version", "Stored query version (SemVer)", example: "1.0.0"),
            APIParameter("key", "Item tag key", example: "no-such-key"),
            APIParameter("patient_id", "FHIR Patient id", example: "no-such-patient"),
            APIParameter("type", "FHIR resource type", example: "Patient"),
            APIParameter("id", "FHIR resource id", example: "no-such-resource"),
            APIParameter("vid", "FHIR version id", example: "1"),
            APIParameter("searched", "The resource type searched for in the compartment", example: "Observation"),
            APIParameter("file", "A FHIRconnect file name: letters, digits, '.', '_', '-', ending .yml or .yaml", example: "no-such-mapping.yml"),
        ].map { ($0.name, $0) })
}
