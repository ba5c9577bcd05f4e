import FHIR
import Foundation
import JSONCore
import OpenEHR
import Storage

/// One entry of a transaction or batch Bundle (R4 §Bundle.entry.request),
/// read and checked, then resolved: its target id, its outcome.
public struct BundleEntry: Sendable {
    public enum Method: String, Sendable {
        case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE"

        /// R4 §transaction: DELETE, then POST, then PUT and PATCH, then GET.
        var order: Int {
            switch self {
            case .delete: 0
            case .post: 1
            case .put, .patch: 2
            case .get: 3
            }
        }
    }

    var index: Int
    public var method: Method
    public var type: String
    public var id: String?
    var versionID: String?
    /// `Type?criteria` of a conditional PUT or DELETE.
    public var criteria: String?
    var ifMatch: Int?
    var ifNoneExist: String?
    var fullUrl: String?
    var resource: JSON?

    /// Where the entry is, for an OperationOutcome's expression.
    var location: String { "Bundle.entry[\(index)]" }
    var reference: String { type + "/" + (id ?? "") }

    /// Reads `entry` (R4 §Bundle: request.method and request.url, the
    /// resource a POST, PUT or PATCH carries).
    public init(_ entry: JSON, index: Int) throws {
        self.index = index
        let location = "Bundle.entry[\(index)]"
        func refuse(_ message: String, _ path: String = "") -> ServiceError {
            ServiceError(.badRequest, "\(location): \(message)", problems: [DecodingProblem(path: location + path, message: message)])
        }
        guard let request = entry["request"]?.objectValue else { throw refuse("request is missing", ".request") }
        guard let method = request["method"]?.stringValue.flatMap(Method.init) else {
            throw refuse("request.method must be GET, POST, PUT, PATCH or DELETE", ".request.method")
        }
        guard var url = request["url"]?.stringValue, !url.isEmpty else { throw refuse("request.url is missing", ".request.url") }
        if let range = url.range(of: "/fhir/"), url.contains("://") { url = String(url[range.upperBound...]) }
        self.method = method
        fullUrl = entry["fullUrl"]?.stringValue
        resource = entry["resource"]
        ifNoneExist = request["ifNoneExist"]?.stringValue
        if let tag = request["ifMatch"]?.stringValue {
            guard let number = FHIRService.versionID(ofETag: tag) else { throw refuse("ifMatch '\(tag)' is not a version (W/\"n\")", ".request.ifMatch") }
            ifMatch = number
        }
        if let mark = url.firstIndex(of: "?") {
            type = String(url[..<mark])
            criteria = String(url[url.index(after: mark)...])
            guard method == .put || method == .delete else { throw refuse("\(method.rawValue) \(url): criteria are for a conditional PUT or DELETE", ".request.url") }
        } else {
            let parts = url.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            type = parts[0]
            switch (method, parts.count) {
            case (.post, 1): break
            case (.put, 2), (.patch, 2), (.delete, 2), (.get, 2): id = parts[1]
            case (.get, 4) where parts[2] == "_history": (id, versionID) = (parts[1], parts[3])
            default: throw refuse("\(method.rawValue) \(url) is not an interaction this server runs in a Bundle", ".request.url")
            }
        }
        if [.post, .put, .patch].contains(method) {
            guard let resource, resource.objectValue != nil else { throw refuse("a \(method.rawValue) carries a resource", ".resource") }
            if method != .patch, resource["resourceType"]?.stringValue != type {
                throw refuse("the resource is a \(resource["resourceType"]?.stringValue ?? "?"), the url names \(type)", ".resource.resourceType")
            }
        }
    }
}

/// References in a resource (R4 §References: every `reference` string),
/// rewritten through a map, and the conditional ones (`Type?criteria`) found.
enum BundleReferences {
    /// Replaces each `reference` that `map` names (a Bundle's full URLs, a composition's seen resources); leaves the others.
    static func rewrite(_ json: JSON, _ map: [String: String]) -> JSON {
        switch json {
        case .object(var object):
            for (key, value) in object.members {
                if key == "reference", case .string(let text) = value, let target = map[text] {
                    object[key] = .string(target)
                } else if case .object = value {
                    object[key] = rewrite(value, map)
                } else if case .array = value {
                    object[key] = rewrite(value, map)
                }
            }
            return .object(object)
        case .array(let items): return .array(items.map { rewrite($0, map) })
        default: return json
        }
    }

    /// The resource type of a conditional reference (`Type?criteria`, R4
    /// §Bundle conditional references: what precedes the `?` is a resource
    /// type, whatever the criteria hold, URLs included); nil for any other reference.
    static func conditionalType(of reference: String) -> String? {
        guard let mark = reference.firstIndex(of: "?") else { return nil }
        let type = String(reference[..<mark])
        return FHIRService.knownTypes.contains(type) ? type : nil
    }

    /// Every `reference` string in `json`.
    static func all(_ json: JSON, into found: inout Set<String>) {
        switch json {
        case .object(let object):
            for (key, value) in object.members {
                if key == "reference", case .string(let text) = value { found.insert(text) } else { all(value, into: &found) }
            }
        case .array(let items): for item in items { all(item, into: &found) }
        default: break
        }
    }
}
