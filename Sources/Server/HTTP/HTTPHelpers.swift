import Foundation
import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR

extension HTTPField.Name {
    static let prefer = HTTPField.Name("Prefer")!
    static let auditDetails = HTTPField.Name("openEHR-AUDIT_DETAILS")!
    static let auditCommitter = HTTPField.Name("openEHR-AUDIT_DETAILS.committer")!
    static let auditChangeType = HTTPField.Name("openEHR-AUDIT_DETAILS.change_type")!
    static let auditDescription = HTTPField.Name("openEHR-AUDIT_DETAILS.description")!
    // ITS-REST 1.1 §HTTP headers: the names above, without the characters HTTP forbids.
    static let auditDetails11 = HTTPField.Name("openehr-audit-details")!
    static let version11 = HTTPField.Name("openehr-version")!
    static let legacyVersion = HTTPField.Name("openEHR-VERSION")!
    static let templateID = HTTPField.Name("openehr-template-id")!
    static let legacyTemplateID = HTTPField.Name("openEHR-TEMPLATE_ID")!
    static let itemTag = HTTPField.Name("openehr-item-tag")!
    static let versionItemTag = HTTPField.Name("openehr-version-item-tag")!
    static let preferenceApplied = HTTPField.Name("Preference-Applied")!
    static let ifNoneExist = HTTPField.Name("If-None-Exist")!
}

/// What a write answers with (`Prefer: return=…`, RFC 7240 §4.2; ITS-REST
/// 1.1 adds `identifier`: a body holding only the resource's id).
enum ReturnPreference: String, Sendable {
    case minimal, representation, identifier
}

extension Request {
    /// The body parsed as JSON, after checking its media type (415 for
    /// anything but JSON, or but what `accepting` admits). An empty body gives `nil`.
    func jsonBody(context: SocleRequestContext, limit: Int, accepting: (String) -> Bool = Request.isJSON) async throws -> JSON? {
        if let type = headers[.contentType], !accepting(Self.essence(type)) {
            throw HTTPRequestError(
                status: .unsupportedMediaType, message: "Content-Type '\(type)' is not supported here: send application/json")
        }
        let buffer = try await body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { return nil }
        let bytes = buffer.readableBytesView
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        return try JSONParser.parse(bytes)
    }

    /// The query string's items in order, decoded as HTML forms encode
    /// them (`+` is a space, as `%20` is: `templateId=SSIAD+PRIeSM`).
    var rawQueryItems: [(String, String)] {
        guard let query = uri.query else { return [] }
        return query.split(separator: "&").map { item in
            // Empty pieces kept: an item `=` or `=x` has an empty name (a fuzzer's `?=` once crashed the server here).
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// One query parameter, decoded as `rawQueryItems` decodes them.
    func queryParameter(_ name: String) -> String? {
        rawQueryItems.first { $0.0 == name }?.1
    }

    /// A media type without its parameters, in lower case (`application/json`).
    static func essence(_ mediaType: some StringProtocol) -> String {
        mediaType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    static func isJSON(_ essence: String) -> Bool { essence == "application/json" || essence.hasSuffix("+json") }
    static func isXML(_ essence: String) -> Bool { essence == "application/xml" || essence == "text/xml" || essence.hasSuffix("+xml") }

    /// 406 unless the client accepts JSON.
    func requireAcceptsJSON() throws { try requireAccepts("application/json", matching: Self.isJSON) }

    /// 406 unless Accept allows the media type the resource is served as
    /// (any range that `matching` admits, `*/*`, or its type's wildcard).
    func requireAccepts(_ mediaType: String, matching: (String) -> Bool) throws {
        guard let accept = headers[.accept] else { return }
        let wildcard = (mediaType.split(separator: "/").first.map(String.init) ?? "") + "/*"
        let ranges = accept.split(separator: ",").map(Self.essence)
        if ranges.contains(where: { $0.isEmpty || $0 == "*/*" || $0 == wildcard || matching($0) }) { return }
        throw HTTPRequestError(status: .notAcceptable, message: "this resource is served as \(mediaType), which Accept '\(accept)' excludes")
    }

    /// `Prefer: return=…` (RFC 7240); `return=minimal` is the default.
    var returnPreference: ReturnPreference {
        for value in headers[values: .prefer] {
            for token in value.replacingOccurrences(of: " ", with: "").lowercased().split(separator: ",") where token.hasPrefix("return=") {
                if let preference = ReturnPreference(rawValue: String(token.dropFirst("return=".count))) { return preference }
            }
        }
        return .minimal
    }

    /// `Prefer: return=representation`.
    var prefersRepresentation: Bool { returnPreference == .representation }

    /// The answer to a write (ITS-REST 1.1 §Representation details
    /// negotiation): `representation()` with `return=representation`,
    /// `{"uid": identifier}` with `return=identifier` (never 204), no body
    /// otherwise, with `minimal` as its status (204 for an update).
    /// `Preference-Applied` says which, when the client stated one.
    func answer(
        _ status: HTTPResponse.Status, minimal: HTTPResponse.Status, headers: HTTPFields, identifier: String,
        representation: () async throws -> Response
    ) async throws -> Response {
        let preference = returnPreference
        var response: Response
        switch preference {
        case .representation: response = try await representation()
        case .identifier: response = Response.json(status, ["uid": .string(identifier)], headers: headers)
        case .minimal: response = Response(status: minimal, headers: headers)
        }
        if self.headers[.prefer] != nil { response.headers[.preferenceApplied] = "return=\(preference.rawValue)" }
        return response
    }

    /// `If-Match` when sent (`ifMatch` for its rules).
    func optionalIfMatch() throws -> String? {
        headers[.ifMatch] == nil ? nil : try ifMatch()
    }

    /// The version uid in `If-Match`, without quotes or a weak prefix.
    func ifMatch() throws -> String {
        guard var value = headers[.ifMatch]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
            throw HTTPRequestError(status: .badRequest, message: "the If-Match header is required: send the latest version uid")
        }
        if value.hasPrefix("W/") { value.removeFirst(2) }
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
        guard ObjectVersionID(value) != nil else {
            throw HTTPRequestError(status: .badRequest, message: "If-Match '\(value)' is not a version uid (uuid::system_id::version)")
        }
        return value
    }

    /// `version_at_time` as ISO 8601; 400 when it is not one.
    func versionAtTime() throws -> ISODateTime? {
        guard let text = queryParameter("version_at_time") else { return nil }
        // A `+` of the time zone sent unencoded reads as a space: it can only be the zone's sign.
        guard let time = ISODateTime(text) ?? ISODateTime(text.replacingOccurrences(of: " ", with: "+")) else {
            throw HTTPRequestError(
                status: .badRequest, message: "version_at_time '\(text)' is not an ISO 8601 date-time such as 2015-01-20T19:30:22.765+01:00")
        }
        return time
    }
}

extension Response {
    static func json(_ status: HTTPResponse.Status = .ok, bytes: [UInt8], headers: HTTPFields = HTTPFields()) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ status: HTTPResponse.Status = .ok, _ value: JSON, headers: HTTPFields = HTTPFields()) -> Response {
        json(status, bytes: JSONSerializer.bytes(value), headers: headers)
    }
}

extension HTTPFields {
    /// The headers that name a resource's state (ITS-REST 1.0.3 §HTTP
    /// headers): `Location`, `ETag` (quoted, as 1.0.3 and its clients
    /// expect) and `Last-Modified` (the commit's time).
    static func resource(location: String, eTag: String, modified: Int64) -> HTTPFields {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.eTag] = "\"\(eTag)\""
        headers[.lastModified] = HTTPDate.string(ISODateTime(microsecondsSinceEpoch: modified))
        return headers
    }
}

enum HTTPDate {
    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func string(_ time: ISODateTime) -> String {
        let f = time.utcFields
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[f.weekday]), \(two(f.day)) \(months[f.month - 1]) \(f.year) \(two(f.hour)):\(two(f.minute)):\(two(f.second)) GMT"
    }

    /// Reads an IMF-fixdate (`If-Modified-Since`); nil for anything else.
    static func parse(_ text: String) -> ISODateTime? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])),
            let year = Int(parts[3]), parts[4].count == 8
        else { return nil }
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return ISODateTime("\(year)-\(two(month + 1))-\(two(day))T\(parts[4])Z")
    }
}

extension RouterGroup where Context == SocleRequestContext {
    /// 405 Method Not Allowed, with `Allow`, for the methods a resource does
    /// not have (RFC 9110 §15.5.6): the router alone would answer 404, as if
    /// the resource did not exist.
    func methodNotAllowed(_ path: RouterPath, allow: [HTTPRequest.Method]) {
        let allowed = allow.map(\.rawValue).joined(separator: ", ")
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] where !allow.contains(method) {
            on(path, method: method) { request, _ -> Response in
                throw HTTPRequestError(
                    status: .methodNotAllowed, message: "\(request.method) is not allowed on this resource: use \(allowed)",
                    headers: [.allow: allowed])
            }
        }
    }
}
