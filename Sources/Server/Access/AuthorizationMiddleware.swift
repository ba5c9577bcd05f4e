import Hummingbird
import Services
import Storage

/// The patients a token with a patient context may reach: its FHIR Patient
/// (`patient` claim) and that patient's EHR, or its EHR (`ehrId`) and the
/// patient linked to it.
public struct PatientScope: Sendable, Equatable {
    /// `Patient/{id}` and `EHR/{id}` keys, as the access trace writes them.
    public var patients: Set<String>
    /// The EHRs, which an AQL query is held to.
    public var ehrIDs: [String]
    /// The FHIR Patient id, which a FHIR search is held to.
    public var patientID: String?
    /// What holds the request to these patients, as a refusal says it.
    var holder = "the token is limited to"
    /// What a refusal adds: how to go further, when there is a way.
    var remedy = ""

    /// Refuses a request that reaches other patients, naming them.
    func require(_ touched: [String]) throws {
        let others = touched.filter { !patients.contains($0) }
        guard others.isEmpty else {
            let held = patients.isEmpty ? "no patient" : patients.sorted().joined(separator: " and ")
            throw ServiceError(.forbidden, "\(holder) \(held); this request reaches \(others.joined(separator: ", "))\(remedy)")
        }
    }
}

/// Applies `AccessPolicy` to every request of a protected group, after
/// authentication and inside the access trace (so that a refusal is
/// traced). For a token with a patient context it also checks, before the
/// handler, the patients the path names and, after it, the patients its
/// answer holds; the handlers hold searches and queries to the patient
/// (`SocleRequestContext.patientScope`).
struct AuthorizationMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    let versions: VersionStore
    /// Set when clinicians are limited to the patients in their care (`SOCLE_CARE_RELATIONSHIPS`).
    var care: CareRelationships?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let user = context.user else { return try await next(request, context) }
        let access = context.accessKind(of: request)
        if let access {
            try AccessPolicy.require(user, access)
        } else if request.method != .get, request.method != .head, request.uri.path.contains("/definition/") {
            try AccessPolicy.requireDefinitionWrite(user)
        }
        // Care relationships hold what clinicians read; what they write is theirs to record, and traced.
        if let care, let access, access.surface != "admin", ["read", "search", "query"].contains(access.operation), CareRelationships.applies(to: user) {
            return try await withinCare(request, context, access, care.scope(of: user), next: next)
        }
        guard let token = user.token, token.hasPatientContext else { return try await next(request, context) }
        let scope = try await patientScope(token)
        try scope.require(access?.patients ?? [])
        var context = context
        context.patientScope = scope
        let response = try await next(request, context)
        try scope.require(context.access.recorded.patients)
        return response
    }

    /// A clinician limited to the patients in their care: as a patient
    /// context holds a token, unless the request breaks the glass with a
    /// reason, which is answered with a warning and kept in the trace.
    func withinCare(
        _ request: Request, _ context: Context, _ access: AccessKind, _ scope: PatientScope,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let reason = request.headers[.breakTheGlass]?.trimmingCharacters(in: .whitespaces), !reason.isEmpty {
            context.access.breakTheGlass(reason)
            var response = try await next(request, context)
            response.headers[.warning] = "299 socle \"break the glass: access outside a care relationship, recorded with its reason\""
            return response
        }
        try scope.require(access.patients)
        var context = context
        context.patientScope = scope
        let response = try await next(request, context)
        try scope.require(context.access.recorded.patients)
        return response
    }

    func patientScope(_ token: TokenIdentity) async throws -> PatientScope {
        var scope = PatientScope(patients: [], ehrIDs: [], patientID: token.patient)
        if let patient = token.patient {
            scope.patients.insert("Patient/" + patient)
            if let ehr = try await versions.ehr(patientID: "Patient/" + patient) { scope.ehrIDs.append(ehr.ehrID) }
        }
        if let ehrID = token.ehrID {
            if !scope.ehrIDs.contains(ehrID) { scope.ehrIDs.append(ehrID) }
            if let linked = try await versions.ehr(ehrID)?.patientID {
                scope.patients.insert(linked)
                scope.patientID = scope.patientID ?? String(linked.dropFirst("Patient/".count))
            }
        }
        scope.patients.formUnion(scope.ehrIDs.map { "EHR/" + $0 })
        return scope
    }
}
