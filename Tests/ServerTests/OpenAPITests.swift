import Foundation
import HTTPTypes
import Hummingbird
import JSONCore
import Logging
import SocleTestSupport
import Testing

@testable import Server

/// `/openapi.json`, `/openapi.yaml` and `/docs` (issue 18 §4). The
/// catalogue they are written from is held to the router's route table
/// both ways: a route it does not document must be a 405 refusal, an
/// operation it documents must be routed; and each documented operation,
/// called with its examples, answers with a status the document lists.
@Suite("OpenAPI")
struct OpenAPITests {
    static func routes(_ engine: TestEngine = .sqlite) async throws -> [(method: String, path: String)] {
        try await TestDatabase.with(engine) { database in
            let components = try await SocleServer.open(ServerConfiguration(), store: database.store)
            return SocleServer.router(components, logger: Logger(label: "socle.test")).routes.map { ($0.method.rawValue, "\($0.path)") }
        }
    }

    static func key(_ method: String, _ path: String) -> String { method + " " + path }

    @Test
    func theCatalogueAndTheRouteTableAgree() async throws {
        let routes = try await Self.routes()
        let documented = Set(APICatalogue.all.map { Self.key($0.method.rawValue, $0.path) })
        #expect(documented.count == APICatalogue.all.count, "an operation is listed twice")
        let rootRoutes = Set(routes.filter { !$0.path.hasPrefix("/rest/") }.map { Self.key($0.method, $0.path) })
        let restRoutes = Set(routes.filter { $0.path.hasPrefix("/rest/") }.map { Self.key($0.method, String($0.path.dropFirst("/rest".count))) })
        // Every documented operation is routed, and under /rest too where it is mirrored.
        for operation in APICatalogue.all {
            let key = Self.key(operation.method.rawValue, operation.path)
            #expect(rootRoutes.contains(key), "documented but not routed: \(key)")
            #expect(restRoutes.contains(key) == APICatalogue.isMirroredUnderRest(operation), "/rest mirror: \(key)")
        }
        // Every route not documented is a refusal (405 with Allow): the next test calls each.
        #expect(Set(APICatalogue.all.map(\.operationID)).count == APICatalogue.all.count, "operation ids are not unique")
    }

    /// Each route the catalogue does not document answers 405 with `Allow`:
    /// it is the refusal of a method the resource does not have, not an operation.
    @Test
    func anUndocumentedRouteIsAMethodRefusal() async throws {
        let routes = try await Self.routes()
        let documented = Set(APICatalogue.all.map { Self.key($0.method.rawValue, $0.path) })
        let undocumented = routes.filter { route in
            let path = route.path.hasPrefix("/rest/") ? String(route.path.dropFirst("/rest".count)) : route.path
            return !documented.contains(Self.key(route.method, path))
        }
        try await TestServer.with(.sqlite) { server in
            for route in undocumented {
                let uri = Self.filled(route.path)
                let reply = try await server.send(HTTPRequest.Method(route.method)!, uri, body: "{}")
                #expect(reply.status == .methodNotAllowed && reply.headers[.allow] != nil, "\(route.method) \(uri): \(reply.status) \(reply.body)")
            }
        }
    }

    /// Each documented operation, called with its examples (and `{}` for a
    /// body), answers with one of the statuses the document gives it.
    @Test(arguments: TestEngine.available)
    func everyOperationAnswersAsDocumented(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            // The example EHR exists, so its reads answer 200, not only 404.
            let ehrID = try #require(APIPathParameters.all["ehr_id"]?.example)
            #expect(try await server.send(.put, "/openehr/v1/ehr/\(ehrID)").status == .created)
            for operation in APICatalogue.all {
                var uri = Self.filled(operation.path)
                let query = operation.query.filter(\.required).compactMap { parameter in
                    parameter.example.map { "\(parameter.name)=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" }
                }
                if !query.isEmpty { uri += "?" + query.joined(separator: "&") }
                var headers: [String: String] = [:]
                if let mediaType = operation.accepts.first { headers["Content-Type"] = mediaType }
                let reply = try await server.send(
                    operation.method, uri, as: operation.access == .open ? nil : TestServer.admin, headers: headers,
                    body: operation.accepts.isEmpty ? nil : "{}")
                #expect(
                    operation.allStatuses.contains(Int(reply.status.code)),
                    "\(operation.method) \(uri) answered \(reply.status.code), documented \(operation.allStatuses): \(reply.body.prefix(300))")
                if operation.access != .open {
                    let anonymous = try await server.send(operation.method, uri, as: nil)
                    #expect(anonymous.status == .unauthorized, "\(operation.method) \(uri) without credentials: \(anonymous.status)")
                }
            }
        }
    }

    /// Query strings a fuzzer sends (schemathesis found `?=` crashing the
    /// server in the query-string reader): every documented operation
    /// answers them with a status, never a 5xx or a crash.
    @Test
    func malformedQueryStringsAreAnsweredNotCrashedOn() async throws {
        try await TestServer.with(.sqlite) { server in
            for operation in APICatalogue.all {
                for query in ["?=", "?=&=x&&y=&==", "?_format=%F0%9C&_pretty=%0F%C3", "?%", "?a=%ZZ&=%"] {
                    let uri = Self.filled(operation.path) + query
                    let reply = try await server.send(operation.method, uri, as: operation.access == .open ? nil : TestServer.admin)
                    #expect(reply.status.code < 500, "\(operation.method) \(uri): \(reply.status) \(reply.body.prefix(200))")
                }
            }
        }
    }

    static func filled(_ path: String) -> String {
        var filled = path
        for (name, parameter) in APIPathParameters.all {
            filled = filled.replacingOccurrences(of: "{\(name)}", with: parameter.example ?? name)
        }
        return filled
    }

    /// The document as served: JSON and YAML say the same (YAML read by
    /// PyYAML), and both pass an OpenAPI 3.0 validator (openapi-spec-validator, PyPI).
    @Test
    func theDocumentIsValidOpenAPIInBothForms() async throws {
        try await TestServer.with(.sqlite) { server in
            let json = try await server.send(.get, "/openapi.json", as: nil)
            #expect(json.status == .ok && json.headers[.contentType] == "application/json")
            #expect(json.json["openapi"] == "3.0.3")
            #expect(json.json["paths"]?["/openehr/v1/ehr/{ehr_id}/composition"]?["post"]?["responses"]?["422"] != nil)
            #expect(json.json["paths"]?["/health/live"]?["get"]?["security"] == .array([]))
            let yaml = try await server.send(.get, "/openapi.yaml", as: nil)
            #expect(yaml.status == .ok && yaml.headers[.contentType] == "application/yaml")

            guard PythonClients.available("openapi_spec_validator") || PythonClients.required else { return }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try Data(json.body.utf8).write(to: folder.appendingPathComponent("openapi.json"))
            try Data(yaml.body.utf8).write(to: folder.appendingPathComponent("openapi.yaml"))
            let check = """
                import json, sys, yaml
                from openapi_spec_validator import validate
                a = json.load(open(sys.argv[1])); b = yaml.safe_load(open(sys.argv[2]))
                assert a == b, "the YAML and the JSON differ"
                validate(a)
                print("valid", len(a["paths"]))
                """
            let (status, output) = try await PythonClients.run([
                PythonClients.python, "-c", check, folder.appendingPathComponent("openapi.json").path, folder.appendingPathComponent("openapi.yaml").path,
            ])
            #expect(status == 0 && output.contains("valid"), "\(output)")
        }
    }

    @Test
    func yamlQuotesWhatWouldOtherwiseBeMisread() {
        let yaml = OpenAPIDocument.yaml(["a": ["b": "yes", "c": [], "d": ["x: y", "#z"], "e": 3, "f": [["g": "line\nbreak"]]]])
        #expect(yaml == "\"a\":\n  \"b\": \"yes\"\n  \"c\": []\n  \"d\":\n    - \"x: y\"\n    - \"#z\"\n  \"e\": 3\n  \"f\":\n    -\n      \"g\": \"line\\nbreak\"\n")
    }
}

/// `/docs` in a real browser: headless Chromium (Debian's chromium and
/// chromium-driver) loads the page from a live Socle, finds every operation
/// of the catalogue listed, and sends two of them through the page's form,
/// one public and one with the credentials typed in (`scripts/docs_page_check.py`).
/// `.ci/run` installs the browser and Selenium and requires them.
@Suite("Docs page")
struct DocsPageTests {
    static let available = PythonClients.available("selenium") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")

    @Test(.enabled(if: available || PythonClients.required))
    func theDocsPageListsAndSendsTheOperations() async throws {
        try #require(Self.available, "SOCLE_TEST_REQUIRE_CLIENTS=1 but Selenium or /usr/bin/chromedriver is missing")
        try await TestServer.with(.sqlite, live: true) { server in
            let port = try #require(server.port)
            let script = Corpus.repositoryRoot.appendingPathComponent("scripts/docs_page_check.py").path
            let (status, output) = try await PythonClients.run([
                PythonClients.python, script, "http://127.0.0.1:\(port)", TestServer.admin.name, TestServer.admin.password,
            ])
            try #require(status == 0, "\(output)")
            let line = try #require(output.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(output)")
            let result = try JSONParser.parse(String(line))
            let listed = Set(result["operations"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            let documented = Set(APICatalogue.all.map { $0.method.rawValue + " " + $0.path })
            #expect(listed == documented, "missing: \(documented.subtracting(listed).sorted()); extra: \(listed.subtracting(documented).sorted())")
            #expect(result["status"]?["status"] == 200)
            #expect(result["status"]?["text"]?.stringValue?.contains("socle_version") == true, "\(output)")
            #expect(result["ehrs"]?["status"] == 201, "\(output)")
            #expect(result["ehrs"]?["text"]?.stringValue?.contains("ehr_id") == true, "\(output)")
        }
    }
}
