import Foundation
import JSONCore

/// One access to patient data, as the access trace records it: who, when,
/// what, which patients, from where, why, and how it ended
/// (docs/architecture.md §Access trace). It holds identifiers, never clinical content.
public struct AccessEntry: Sendable, Equatable {
    /// Who accessed.
    public struct Actor: Sendable, Equatable {
        /// The user name (Basic) or the token's subject.
        public var name: String
        public var role: String
        /// The professional's national identifier and its issuer (RPPS: `1.2.250.1.71.4.2.1`).
        public var nationalID: String?
        public var nationalIDIssuer: String?
        /// The OAuth client the request came through.
        public var clientID: String?
        /// `basic`, `bearer` or `none` (authentication off).
        public var authentication: String

        public init(
            name: String, role: String, nationalID: String? = nil, nationalIDIssuer: String? = nil, clientID: String? = nil,
            authentication: String
        ) {
            self.name = name
            self.role = role
            self.nationalID = nationalID
            self.nationalIDIssuer = nationalIDIssuer
            self.clientID = clientID
            self.authentication = authentication
        }
    }

    /// What kind of access: `read`, `search`, `query`, `create`, `update`, `delete`, `erase`, `export`.
    public var operation: String
    /// The surface: `openehr`, `fhir`, `admin`.
    public var surface: String
    /// `GET /openehr/v1/ehr/…` as asked, without the query string.
    public var request: String
    /// Microseconds since the epoch; set when the entry is recorded.
    public var time: Int64
    public var actor: Actor
    /// The patients whose data was touched or returned: `EHR/<ehr_id>`, `Patient/<id>`.
    public var patients: [String]
    /// The resources touched: `COMPOSITION/<uid>`, `Observation/<id>`, `QUERY`.
    public var resources: [String]
    /// An AQL text, or a FHIR search's query string.
    public var query: String?
    /// The peer address of the request.
    public var address: String?
    /// The purpose of use, when the request gave one.
    public var purpose: String?
    /// The reason given to break the glass, when it was.
    public var breakTheGlass: String?
    /// The HTTP status the request ended with.
    public var outcome: Int
    public var requestID: String?

    public init(
        operation: String, surface: String, request: String, time: Int64 = 0, actor: Actor, patients: [String] = [], resources: [String] = [],
        query: String? = nil, address: String? = nil, purpose: String? = nil, breakTheGlass: String? = nil, outcome: Int, requestID: String? = nil
    ) {
        self.operation = operation
        self.surface = surface
        self.request = request
        self.time = time
        self.actor = actor
        self.patients = patients
        self.resources = resources
        self.query = query
        self.address = address
        self.purpose = purpose
        self.breakTheGlass = breakTheGlass
        self.outcome = outcome
        self.requestID = requestID
    }

    /// The entry as compact JSON, members in a fixed order: these bytes are
    /// what the chain hashes. Written directly, not through a JSON tree: the
    /// writer runs once per access (`JSONSerializer` writes the strings).
    public func text(seq: Int64) -> [UInt8] {
        var writer = ObjectWriter()
        writer.output.reserveCapacity(512)
        writer.number("seq", seq)
        writer.number("time", time)
        writer.string("surface", surface)
        writer.string("operation", operation)
        writer.string("request", request)
        writer.key("actor")
        var actor = ObjectWriter()
        actor.string("name", self.actor.name)
        actor.string("role", self.actor.role)
        actor.string("national_id", self.actor.nationalID)
        actor.string("national_id_issuer", self.actor.nationalIDIssuer)
        actor.string("client_id", self.actor.clientID)
        actor.string("authentication", self.actor.authentication)
        writer.output += actor.closed()
        writer.strings("patients", patients)
        writer.strings("resources", resources)
        writer.string("query", query)
        writer.string("address", address)
        writer.string("purpose", purpose)
        writer.string("break_the_glass", breakTheGlass)
        writer.number("outcome", Int64(outcome))
        writer.string("request_id", requestID)
        return writer.closed()
    }

    /// One JSON object written member by member; an absent value writes no member.
    struct ObjectWriter {
        var output: [UInt8] = [UInt8(ascii: "{")]

        mutating func key(_ name: String) {
            if output.count > 1 { output.append(UInt8(ascii: ",")) }
            JSONSerializer.writeString(name, into: &output)
            output.append(UInt8(ascii: ":"))
        }

        mutating func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONSerializer.writeString(value, into: &output)
        }

        mutating func number(_ name: String, _ value: Int64) {
            key(name)
            output.append(contentsOf: String(value).utf8)
        }

        mutating func strings(_ name: String, _ values: [String]) {
            key(name)
            output.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONSerializer.writeString(value, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        }

        func closed() -> [UInt8] { output + [UInt8(ascii: "}")] }
    }

    /// Reads an entry back from its JSON (`text(seq:)`), with its place.
    public init?(json: JSON) {
        guard let operation = json["operation"]?.stringValue, let surface = json["surface"]?.stringValue,
            let request = json["request"]?.stringValue, let time = json["time"]?.integer, let actor = json["actor"],
            let name = actor["name"]?.stringValue, let role = actor["role"]?.stringValue,
            let authentication = actor["authentication"]?.stringValue, let outcome = json["outcome"]?.integer
        else { return nil }
        self.init(
            operation: operation, surface: surface, request: request, time: Int64(time),
            actor: Actor(
                name: name, role: role, nationalID: actor["national_id"]?.stringValue, nationalIDIssuer: actor["national_id_issuer"]?.stringValue,
                clientID: actor["client_id"]?.stringValue, authentication: authentication),
            patients: json["patients"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            resources: json["resources"]?.arrayValue?.compactMap(\.stringValue) ?? [], query: json["query"]?.stringValue,
            address: json["address"]?.stringValue, purpose: json["purpose"]?.stringValue, breakTheGlass: json["break_the_glass"]?.stringValue,
            outcome: outcome, requestID: json["request_id"]?.stringValue)
    }
}

extension JSON {
    /// A number written as an integer.
    var integer: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }
}
