import Foundation
import HTTPTypes
import Hummingbird
import JSONCore
import Services

/// ITS-REST 1.0.3 §Query (ad-hoc and stored AQL) and §Definitions (stored queries).
struct QueryRoutes {
    let service: QueryService
    let bodyLimit: Int

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.get("query/aql") { request, context in
            try request.requireAcceptsJSON()
            let items = request.rawQueryItems
            guard let q = items.first(where: { $0.0 == "q" })?.1, !q.isEmpty else {
                throw ServiceError(.badRequest, "the query parameter q (the AQL query) is missing")
            }
            return try await execute(try Self.request(q: q, items: items), context)
        }
        group.post("query/aql") { request, context in
            try request.requireAcceptsJSON()
            guard let body = try await request.jsonBody(context: context, limit: bodyLimit), case .object(let object) = body else {
                throw ServiceError(.badRequest, "send a JSON object: {\"q\": \"SELECT …\", \"query_parameters\": {…}, \"offset\": 0, \"fetch\": 10}")
            }
            guard let q = object["q"]?.stringValue, !q.isEmpty else { throw ServiceError(.badRequest, "the body has no q (the AQL query)") }
            return try await execute(try Self.request(q: q, body: object, items: request.rawQueryItems), context)
        }
        for path in ["query/:qualified_name", "query/:qualified_name/:version"] {
            group.get(RouterPath(path)) { request, context in
                try request.requireAcceptsJSON()
                let stored = try await service.definition(
                    qualifiedName: try context.decodedParameter("qualified_name"), version: context.parameters.get("version"))
                var run = try Self.request(q: stored.q, items: request.rawQueryItems)
                run.name = stored.qualifiedName
                return try await execute(run, context)
            }
            group.post(RouterPath(path)) { request, context in
                try request.requireAcceptsJSON()
                let stored = try await service.definition(
                    qualifiedName: try context.decodedParameter("qualified_name"), version: context.parameters.get("version"))
                let body = try await request.jsonBody(context: context, limit: bodyLimit)
                guard body == nil || body?.objectValue != nil else {
                    throw ServiceError(.badRequest, "send a JSON object: {\"query_parameters\": {…}, \"offset\": 0, \"fetch\": 10}")
                }
                var run = try Self.request(q: stored.q, body: body?.objectValue ?? JSONObject(), items: request.rawQueryItems)
                run.name = stored.qualifiedName
                return try await execute(run, context)
            }
        }
        for path in ["definition/query/:qualified_name", "definition/query/:qualified_name/:version"] {
            group.put(RouterPath(path)) { request, context in
                let text = try await request.queryText(limit: bodyLimit)
                let record = try await service.store(
                    qualifiedName: try context.decodedParameter("qualified_name"), version: context.parameters.get("version"), q: text)
                var headers = HTTPFields()
                headers[.location] = context.openEHRBase + "/definition/query/" + record.qualifiedName + "/" + record.version
                // ITS-REST 1.0.3 §Definitions, stored query: PUT answers 200 OK.
                return Response.json(.ok, QueryService.json(record), headers: headers)
            }
        }
        group.methodNotAllowed("definition/query", allow: [.get])
        for path in ["definition/query/:qualified_name", "definition/query/:qualified_name/:version"] {
            // Stored queries are removed through the admin API.
            group.methodNotAllowed(RouterPath(path), allow: [.get, .put])
        }
        group.get("definition/query") { request, _ in
            try request.requireAcceptsJSON()
            return Response.json(.ok, .array(try await service.definitions(qualifiedName: nil).map(QueryService.json)))
        }
        group.get("definition/query/:qualified_name") { request, context in
            try request.requireAcceptsJSON()
            let records = try await service.definitions(qualifiedName: try context.decodedParameter("qualified_name"))
            return Response.json(.ok, .array(records.map(QueryService.json)))
        }
        group.get("definition/query/:qualified_name/:version") { request, context in
            try request.requireAcceptsJSON()
            let record = try await service.definition(
                qualifiedName: try context.decodedParameter("qualified_name"), version: try context.parameters.require("version"))
            return Response.json(.ok, QueryService.json(record))
        }
    }

    static let reserved: Set<String> = ["q", "offset", "fetch", "query_parameters", "explain"]

    /// GET: `offset`, `fetch`, `explain`, `query_parameters` (each `name=value`),
    /// and any other parameter taken as a query parameter (`ehr_id=…`).
    /// Runs a query; the access trace is given its text, the EHR it names by
    /// parameter and the EHRs whose rows it returned.
    func execute(_ run: QueryService.Request, _ context: SocleRequestContext) async throws -> Response {
        var run = run
        run.ehrRestriction = context.patientScope?.ehrIDs
        run.reportingEHRs = true
        context.access.query(run.q)
        if let ehrID = run.parameters["ehr_id"]?.stringValue { context.access.patients(["EHR/" + ehrID]) }
        let (result, ehrIDs) = try await service.executeReporting(run)
        context.access.patients((ehrIDs ?? []).map { "EHR/" + $0 })
        return Response.json(.ok, result)
    }

    static func request(q: String, items: [(String, String)]) throws -> QueryService.Request {
        var parameters: [String: JSON] = [:]
        for (key, value) in items {
            if key == "query_parameters" {
                for pair in value.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { throw ServiceError(.badRequest, "query_parameters '\(pair)' is not name=value") }
                    parameters[String(parts[0])] = .string(String(parts[1]))
                }
            } else if !reserved.contains(key) {
                parameters[key] = .string(value)
            }
        }
        return QueryService.Request(
            q: q, parameters: parameters, offset: try integer(items, "offset"), fetch: try integer(items, "fetch"),
            explain: items.contains { $0.0 == "explain" && $0.1 != "false" })
    }

    /// POST: `{"q", "query_parameters": {…}, "offset", "fetch"}`.
    static func request(q: String, body: JSONObject, items: [(String, String)]) throws -> QueryService.Request {
        var parameters: [String: JSON] = [:]
        if let given = body["query_parameters"] {
            guard case .object(let object) = given else { throw ServiceError(.badRequest, "query_parameters must be a JSON object") }
            for (key, value) in object.members { parameters[key] = value }
        }
        func number(_ key: String) throws -> Int? {
            guard let value = body[key], value != .null else { return nil }
            guard case .number(let text) = value, let number = Int(text) else { throw ServiceError(.badRequest, "\(key) must be an integer") }
            return number
        }
        let explain = body["explain"]?.boolValue == true || items.contains { $0.0 == "explain" && $0.1 != "false" }
        return QueryService.Request(q: q, parameters: parameters, offset: try number("offset"), fetch: try number("fetch"), explain: explain)
    }

    static func integer(_ items: [(String, String)], _ key: String) throws -> Int? {
        guard let text = items.first(where: { $0.0 == key })?.1 else { return nil }
        guard let value = Int(text) else { throw ServiceError(.badRequest, "\(key) must be an integer, not '\(text)'") }
        return value
    }
}

extension Request {
    /// Query items decoded as HTML forms encode them (`+` is a space).
    /// A stored query's text: the body as text/plain, or `{"q": …}` as JSON.
    func queryText(limit: Int) async throws -> String {
        let buffer = try await body.collect(upTo: limit)
        let bytes = Array(buffer.readableBytesView)
        let essence = headers[.contentType].map { Self.essence($0) } ?? "text/plain"
        if Self.isJSON(essence) {
            guard let q = try JSONParser.parse(bytes)["q"]?.stringValue else { throw ServiceError(.badRequest, "the JSON body has no q (the AQL query)") }
            return q
        }
        guard essence == "text/plain" else {
            throw HTTPRequestError(status: .unsupportedMediaType, message: "Content-Type '\(essence)' is not supported here: send text/plain or application/json")
        }
        guard let text = String(bytes: bytes, encoding: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ServiceError(.badRequest, "the body must hold the AQL query as UTF-8 text")
        }
        return text
    }
}
