import Hummingbird
import JSONCore

/// `GET /fhir/.well-known/smart-configuration` (SMART App Launch 2.0
/// §Conformance, well-known): where a SMART app gets a token for Socle —
/// the configured issuer's endpoints, from its discovery document — and
/// what Socle does with it. Public, as SMART clients expect; 404 when no
/// issuer is configured (Socle then takes HTTP Basic only).
enum SMARTConfiguration {
    /// What Socle does with a token; the launch and client capabilities are the issuer's to offer.
    static let capabilities = ["launch-standalone", "context-standalone-patient", "permission-patient", "permission-user", "permission-v1", "permission-v2"]

    static let scopes = [
        "openid", "fhirUser", "launch/patient", "patient/*.rs", "patient/*.cruds", "user/*.rs", "user/*.cruds", "system/*.rs", "system/*.cruds",
        "patient/composition-*.crud", "user/composition-*.crud", "user/aql-*.rs", "patient/aql-*.rs",
    ]

    static func register(on fhir: RouterGroup<SocleRequestContext>, bearer: BearerTokenVerifier?) {
        fhir.get(".well-known/smart-configuration") { _, _ -> Response in
            guard let bearer else {
                throw HTTPRequestError(status: .notFound, message: "SMART on FHIR is not offered: no OpenID Connect issuer is configured (SOCLE_OIDC_ISSUER)")
            }
            let discovery = try await bearer.discovery()
            var body = JSONObject([("issuer", .string(bearer.settings.issuer))])
            for key in ["jwks_uri", "authorization_endpoint", "token_endpoint", "introspection_endpoint", "revocation_endpoint", "userinfo_endpoint"] {
                if let value = discovery[key] { body[key] = value }
            }
            body["grant_types_supported"] = discovery["grant_types_supported"] ?? ["authorization_code", "client_credentials"]
            body["response_types_supported"] = discovery["response_types_supported"] ?? ["code"]
            body["code_challenge_methods_supported"] = ["S256"]
            body["token_endpoint_auth_methods_supported"] = discovery["token_endpoint_auth_methods_supported"] ?? ["client_secret_basic", "private_key_jwt"]
            body["scopes_supported"] = .array(scopes.map(JSON.string))
            body["capabilities"] = .array(capabilities.map(JSON.string))
            return Response.json(.ok, .object(body))
        }
    }
}
