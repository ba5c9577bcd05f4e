import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR
import Services

/// The FHIR formats (R4 §http Content Types and encodings): JSON and XML,
/// chosen by `_format`, else by `Accept` (406 when neither is acceptable);
/// a body is read by its `Content-Type` (415 for another).
enum FHIRFormat: Sendable {
    case json, xml

    var mediaType: String { self == .json ? "application/fhir+json; charset=utf-8" : "application/fhir+xml; charset=utf-8" }

    /// `_format` values R4 lists, and the media types.
    static func named(_ text: String) -> FHIRFormat? {
        switch Request.essence(text) {
        case "json", "application/json", "application/fhir+json", "application/json+fhir": .json
        case "xml", "text/xml", "application/xml", "application/fhir+xml", "application/xml+fhir": .xml
        default: nil
        }
    }

    /// What the response is written in.
    static func requested(_ request: Request) throws -> FHIRFormat {
        if let format = request.queryParameter("_format") {
            guard let chosen = named(format) else {
                throw HTTPRequestError(status: .notAcceptable, message: "_format '\(format)' is not one this server writes: json or xml")
            }
            return chosen
        }
        guard let accept = request.headers[.accept], !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return .json }
        var best: (format: FHIRFormat, quality: Double)?
        for range in accept.split(separator: ",") {
            let parameters = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let quality = parameters.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            let type = Request.essence(range)
            let format: FHIRFormat? = type == "*/*" || type == "application/*" ? .json : named(type)
            if let format, quality > 0, quality > (best?.quality ?? 0) { best = (format, quality) }
        }
        guard let best else {
            throw HTTPRequestError(status: .notAcceptable, message: "Accept '\(accept)' names no format this server writes: application/fhir+json or application/fhir+xml")
        }
        return best.format
    }

    /// The resource in a request body, in its format; nil when there is no body.
    static func body(_ request: Request, limit: Int) async throws -> JSON? {
        let format: FHIRFormat
        if let type = request.headers[.contentType] {
            guard let named = named(type) else {
                throw HTTPRequestError(status: .unsupportedMediaType, message: "Content-Type '\(type)' is not a FHIR format: send application/fhir+json or application/fhir+xml")
            }
            format = named
        } else {
            format = .json
        }
        let buffer = try await request.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { return nil }
        switch format {
        case .json:
            return try JSONParser.parse(buffer.readableBytesView)
        case .xml:
            do {
                return try FHIRXMLReader.json(Data(buffer.readableBytesView))
            } catch {
                throw ServiceError(.badRequest, "the body is not a FHIR XML resource: \(error.message)", problems: [DecodingProblem(path: "(xml)", message: error.message)])
            }
        }
    }

    /// A resource (or Bundle, OperationOutcome …) in this format.
    func body(_ json: JSON, pretty: Bool) -> ByteBuffer {
        switch self {
        case .json: ByteBuffer(bytes: pretty ? JSONSerializer.prettyBytes(json) : JSONSerializer.bytes(json))
        case .xml: ByteBuffer(string: FHIRXMLWriter.xml(json, pretty: pretty))
        }
    }
}

extension Request {
    /// `_pretty=true`.
    var fhirPretty: Bool { queryParameter("_pretty") == "true" }
}

extension Response {
    /// A FHIR answer in the requested format.
    static func fhir(_ status: HTTPResponse.Status, _ json: JSON, format: FHIRFormat, pretty: Bool, headers: HTTPFields = HTTPFields()) -> Response {
        var fields = headers
        fields[.contentType] = format.mediaType
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: format.body(json, pretty: pretty)))
    }

    /// A stored resource: compact JSON is its stored bytes, unparsed.
    static func fhir(_ status: HTTPResponse.Status, stored bytes: [UInt8], format: FHIRFormat, pretty: Bool, headers: HTTPFields) -> Response {
        guard format == .xml || pretty, let json = try? JSONParser.parse(bytes) else {
            var fields = headers
            fields[.contentType] = format.mediaType
            return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return fhir(status, json, format: format, pretty: pretty, headers: headers)
    }
}
