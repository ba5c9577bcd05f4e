import Hummingbird
import NIOCore
import Services

/// Records each request that reaches patient data in the access trace,
/// once it is answered, whatever the answer (docs/architecture.md §Access
/// trace). The path says the kind of access and the patient it names (an
/// EHR, a FHIR Patient); the handler adds, in the request's `AccessNote`,
/// the patients its answer held that the path does not name (a search's,
/// a new EHR's). The response waits for its entry to be stored: an access
/// the trace could not record is answered 503, not served untraced.
struct AccessTraceMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    let trace: AccessTrace

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let access = context.accessKind(of: request)
        context.pathAccess = .init(kind: access)
        guard let access else { return try await next(request, context) }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Rendered here, where its status is known, as the surface renders it.
            response = ErrorMiddleware.response(for: error, context: context, request: request)
        }
        try await record(access, request, context, outcome: Int(response.status.code))
        return response
    }

    func record(_ access: AccessKind, _ request: Request, _ context: Context, outcome: Int) async throws {
        let note = context.access.recorded
        var patients = access.patients
        for patient in note.patients where !patients.contains(patient) { patients.append(patient) }
        var resources = access.resources
        for resource in note.resources where !resources.contains(resource) { resources.append(resource) }
        let user = context.user
        let entry = AccessEntry(
            operation: access.operation, surface: access.surface, request: "\(request.method) \(request.uri.path)",
            actor: AccessEntry.Actor(
                name: user?.name ?? "anonymous", role: user?.roleNames ?? "none", nationalID: user?.token?.nationalID,
                nationalIDIssuer: user?.token?.nationalID.map { _ in TokenIdentity.nationalIDIssuer }, clientID: user?.token?.clientID,
                authentication: user == AnonymousUserMiddleware.user ? "none" : user?.token != nil ? "bearer" : "basic"),
            patients: patients, resources: resources, query: note.query ?? access.query(request.uri.query), address: Self.address(context),
            breakTheGlass: note.breakTheGlass,
            outcome: outcome, requestID: context.requestID)
        do {
            try await trace.record(entry)
        } catch {
            context.logger.error("the access trace could not record an access", metadata: ["socle.error": "\(error)"])
            throw HTTPRequestError(status: .serviceUnavailable, message: "the access trace cannot be written: the access is refused")
        }
    }

    static func address(_ context: Context) -> String? {
        guard let address = context.remoteAddress else { return nil }
        return address.ipAddress ?? "\(address)"
    }
}

/// What a request's method and path say of the access: which surface,
/// which operation, the patient and the resource it names. nil: the
/// request reaches no patient data (templates, metadata, validation).
struct AccessKind {
    var surface: String
    var operation: String
    var patients: [String] = []
    var resources: [String] = []
    /// The FHIR type the request reads or writes (the searched one of a compartment search).
    var fhirType: String?
    /// Whether the query string is what was asked (a search's parameters).
    var queryIsAsked = false

    func query(_ text: String?) -> String? {
        guard queryIsAsked, let text, !text.isEmpty else { return nil }
        return text
    }

    init?(method: HTTPRequest.Method, path: String) {
        var segments = path.split(separator: "/").map(String.init)
        if segments.first == "rest" { segments.removeFirst() }
        switch segments.first {
        case "openehr" where segments.count > 2 && segments[1] == "v1": self.init(openEHR: Array(segments.dropFirst(2)), method)
        case "fhir": self.init(fhir: Array(segments.dropFirst()), method)
        case "admin" where segments.count > 1: self.init(admin: Array(segments.dropFirst()), method)
        default: return nil
        }
    }

    init?(openEHR rest: [String], _ method: HTTPRequest.Method) {
        surface = "openehr"
        switch rest.first {
        case "query":
            operation = "query"
            resources = ["QUERY"]
            queryIsAsked = method == .get
        case "ehr":
            operation = Self.operation(method)
            if rest.count > 1 { patients = ["EHR/" + rest[1]] }
            if rest.count > 3 { resources = [rest[2].uppercased() + "/" + rest[3]] } else if rest.count > 2 { resources = [rest[2].uppercased()] }
        default: return nil
        }
    }

    init?(fhir rest: [String], _ method: HTTPRequest.Method) {
        surface = "fhir"
        if let first = rest.first, first == "metadata" || first == ".well-known" { return nil }
        if rest.contains(where: { $0.hasPrefix("$") && $0 != "$everything" }) { return nil }
        // The trace itself is only read: a write of an AuditEvent reaches no one's data and is answered 405.
        if rest.first == "AuditEvent", method != .get, method != .head { return nil }
        // A search: GET of a type or of the system, or POST to `_search`.
        let searched = (method == .get && rest.count <= 1) || (method == .post && (1...2).contains(rest.count) && rest.last == "_search")
        switch (method, rest.count) {
        case (.post, 0):
            operation = "transaction"
        case _ where searched:
            operation = rest.first == "_history" ? "read" : "search"
            queryIsAsked = true
        case (.get, 3) where !rest[2].hasPrefix("_") && !rest[2].hasPrefix("$"):
            // A compartment search: `Patient/123/Observation`.
            operation = "search"
            queryIsAsked = true
        default:
            operation = rest.last == "_history" && rest.count == 2 ? "read" : Self.operation(method)
        }
        if let first = rest.first, first.first?.isUppercase == true { fhirType = rest.count == 3 && operation == "search" ? rest[2] : first }
        if rest.count > 1, !rest[1].hasPrefix("_"), !rest[1].hasPrefix("$") {
            resources = [rest[0] + "/" + rest[1]]
            if rest[0] == "Patient" { patients = ["Patient/" + rest[1]] }
        }
    }

    init?(admin rest: [String], _ method: HTTPRequest.Method) {
        surface = "admin"
        switch (method, rest[0]) {
        case (.delete, "ehr"), (.delete, "patient"):
            operation = "erase"
            if rest.count > 1, rest[1] != "all" { patients = [(rest[0] == "ehr" ? "EHR/" : "Patient/") + rest[1]] }
        case (.get, "access-log"):
            operation = "trace-read"
            queryIsAsked = true
        default: return nil
        }
    }

    /// The operations that write clinical content.
    static let writes: Set<String> = ["create", "update", "delete", "transaction", "erase"]

    static func operation(_ method: HTTPRequest.Method) -> String {
        switch method {
        case .post: "create"
        case .put, .patch: "update"
        case .delete: "delete"
        default: "read"
        }
    }
}
