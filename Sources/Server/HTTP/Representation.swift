import Foundation
import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR
import Templates

/// How an RM resource is sent and received: canonical JSON (the default) or
/// canonical XML (ITS-REST 1.0.3 §Content negotiation: `application/json`
/// and `application/xml`).
enum RMRepresentation: Sendable {
    case json, xml

    var mediaType: String { self == .json ? "application/json" : "application/xml" }
}

extension Request {
    /// The representation `Accept` asks for: the one with the higher
    /// quality; on a tie the one a specific range names first; JSON when
    /// only wildcards (or no Accept) are sent. 406 when neither is acceptable.
    func rmRepresentation() throws -> RMRepresentation {
        guard let accept = headers[.accept], !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return .json }
        var json: (q: Double, order: Int)?
        var xml: (q: Double, order: Int)?
        for (index, part) in accept.split(separator: ",").enumerated() {
            let pieces = part.split(separator: ";")
            let range = Self.essence(pieces.first ?? "")
            var q = 1.0
            for parameter in pieces.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2, pair[0].lowercased() == "q", let value = Double(pair[1]) { q = value }
            }
            let wildcard = range == "*/*" || range == "application/*" || range.isEmpty
            // Wildcards rank after every specific range, whatever their place.
            let order = wildcard ? Int.max : index
            if wildcard || Self.isJSON(range) {
                if json.map({ q > $0.q || (q == $0.q && order < $0.order) }) ?? true { json = (q, order) }
            }
            if wildcard || Self.isXML(range) || range == "text/*" {
                if xml.map({ q > $0.q || (q == $0.q && order < $0.order) }) ?? true { xml = (q, order) }
            }
        }
        let jsonScore = json.flatMap { $0.q > 0 ? $0 : nil }
        let xmlScore = xml.flatMap { $0.q > 0 ? $0 : nil }
        switch (jsonScore, xmlScore) {
        case (nil, nil):
            throw HTTPRequestError(
                status: .notAcceptable, message: "this resource is served as application/json or application/xml, which Accept '\(accept)' excludes")
        case (_?, nil): return .json
        case (nil, _?): return .xml
        case (let j?, let x?): return x.q > j.q || (x.q == j.q && x.order < j.order) ? .xml : .json
        }
    }

    /// The body of an RM object as canonical JSON: parsed as sent in JSON,
    /// read through canonical XML (`rmType` is the document element's type;
    /// a CONTRIBUTION is the REST body, versions whole) when sent as
    /// `application/xml`. 415 for any other media type; `nil`
    /// for an empty body.
    func rmBody(context: SocleRequestContext, limit: Int, rmType: String) async throws -> JSON? {
        guard let type = headers[.contentType], Self.isXML(Self.essence(type)) else {
            if let type = headers[.contentType], !Self.isJSON(Self.essence(type)) {
                throw HTTPRequestError(
                    status: .unsupportedMediaType, message: "Content-Type '\(type)' is not supported here: send application/json or application/xml")
            }
            return try await jsonBody(context: context, limit: limit)
        }
        let buffer = try await body.collect(upTo: limit)
        let bytes = buffer.readableBytesView
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        return rmType == "CONTRIBUTION" ? try CanonicalXML.readContributionBody(Data(bytes)) : try CanonicalXML.read(Data(bytes), as: rmType)
    }
}

extension Response {
    /// An RM object in the representation asked for.
    static func rm(
        _ status: HTTPResponse.Status, _ json: JSON, rmType: String, as representation: RMRepresentation, headers: HTTPFields = HTTPFields()
    ) -> Response {
        guard representation == .xml else { return .json(status, json, headers: headers) }
        var headers = headers
        headers[.contentType] = "application/xml"
        let document = CanonicalXML.document(json, rmType: rmType)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
    }

    /// An RM object stored as canonical JSON bytes, in the representation asked for.
    static func rm(
        _ status: HTTPResponse.Status, bytes: [UInt8], rmType: String, as representation: RMRepresentation, headers: HTTPFields = HTTPFields()
    ) throws -> Response {
        guard representation == .xml else { return .json(status, bytes: bytes, headers: headers) }
        return rm(status, try JSONParser.parse(bytes), rmType: rmType, as: .xml, headers: headers)
    }
}
