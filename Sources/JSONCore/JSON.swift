/// A JSON value as parsed: object members keep their order and numbers keep
/// the text they were written with, so a document re-serialises to what was
/// sent (FHIR decimals, openEHR canonical JSON) and nothing is lost on the way.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text exactly as written (`1.50` stays `1.50`).
    case number(String)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    public init(_ value: Int) { self = .number(String(value)) }

    public subscript(key: String) -> JSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }

    public var arrayValue: [JSON]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// The JSON kind, as an error message names it.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object whose members keep the order they were written in.
public struct JSONObject: Sendable, Equatable {
    public private(set) var members: [(key: String, value: JSON)]

    public init() { members = [] }

    public init(_ members: [(String, JSON)]) {
        self.members = members.map { (key: $0.0, value: $0.1) }
    }

    /// The members as they are, in order (no copy).
    public init(members: [(key: String, value: JSON)]) {
        self.members = members
    }

    public var keys: [String] { members.map(\.key) }
    public var isEmpty: Bool { members.isEmpty }
    public var count: Int { members.count }

    /// Reads a member; setting one replaces it in place or appends it, and
    /// setting nil removes it.
    public subscript(key: String) -> JSON? {
        get {
            for member in members where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key: key, value: newValue))
            }
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}
