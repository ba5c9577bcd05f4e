import Foundation
import JSONCore

/// A FHIR R4 resource read from JSON: the document as written (member order,
/// primitive extensions `_name`, decimals as their text), checked against the
/// structure of its type.
public struct FHIRResource: Sendable {
    public let json: JSON
    public let resourceType: String

    /// Why a resource could not be read: every structural problem with its
    /// location, or the JSON syntax error.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var issues: [FHIRIssue]
        public var description: String { issues.map(\.description).joined(separator: "; ") }
    }

    /// Reads and checks a resource (R4 §JSON Representation).
    public static func parse(_ bytes: some Collection<UInt8>) throws(ParseError) -> FHIRResource {
        let json: JSON
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw ParseError(issues: [FHIRIssue(code: "structure", location: "line \(error.line), column \(error.column)", message: error.message)])
        }
        return try FHIRResource(json: json)
    }

    /// Checks a parsed JSON document as a resource.
    public init(json: JSON) throws(ParseError) {
        let problems = FHIRValidator.validate(json, level: .structure)
        if !problems.isEmpty { throw ParseError(issues: problems) }
        self.json = json
        resourceType = json["resourceType"]?.stringValue ?? ""
    }

    /// Reads a resource in FHIR XML.
    public static func parseXML(_ data: Data) throws(ParseError) -> FHIRResource {
        do {
            return try FHIRResource(json: FHIRXMLReader.json(data))
        } catch let error as ParseError {
            throw error
        } catch {
            throw ParseError(issues: [FHIRIssue(code: "structure", location: "(xml)", message: "\(error)")])
        }
    }

    public var node: FHIRNode { FHIRNode(resource: json) }

    /// The JSON text of the resource.
    public func serialized() -> [UInt8] { JSONSerializer.bytes(json) }
}
