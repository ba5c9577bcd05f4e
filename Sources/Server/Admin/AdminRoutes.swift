import Hummingbird
import Services

/// `/admin`, with EHRbase's admin paths so that existing tooling works.
/// Only users with the admin role may call it.
struct AdminRoutes {
    let service: AdminService

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.delete("ehr/:ehr_id") { request, context in
            try Self.requireAdmin(context)
            try await service.eraseEHR(try context.parameters.require("ehr_id"), by: context.user?.name ?? "anonymous")
            return Response(status: .noContent)
        }
    }

    static func requireAdmin(_ context: SocleRequestContext) throws {
        guard context.user?.role == .admin else {
            throw ServiceError(.forbidden, "the admin API needs a user with the admin role")
        }
    }
}
