import JSONCore

/// Reads canonical JSON (ITS-JSON) into RM values while recording every
/// problem with its path, so one response can list them all.
public struct RMReader {
    public private(set) var problems: [DecodingProblem] = []

    public init() {}

    public mutating func report(_ path: String, _ message: String) {
        problems.append(DecodingProblem(path: path, message: message))
    }

    /// The member must be a JSON object; `nil` (and a problem) otherwise.
    public mutating func object(_ value: JSON?, at path: String, required: Bool = true) -> JSONObject? {
        guard let value, value != .null else {
            if required { report(path, "is mandatory but missing") }
            return nil
        }
        guard case .object(let object) = value else {
            report(path, "must be an object, found \(value.kindName)")
            return nil
        }
        return object
    }

    public mutating func string(_ object: JSONObject, _ key: String, at path: String, required: Bool = true, nonEmpty: Bool = false) -> String? {
        let memberPath = path + "/" + key
        guard let value = object[key], value != .null else {
            if required { report(memberPath, "is mandatory but missing") }
            return nil
        }
        guard case .string(let string) = value else {
            report(memberPath, "must be a string, found \(value.kindName)")
            return nil
        }
        if nonEmpty && string.isEmpty {
            report(memberPath, "must not be empty")
            return nil
        }
        return string
    }

    public mutating func bool(_ object: JSONObject, _ key: String, at path: String, required: Bool = true) -> Bool? {
        let memberPath = path + "/" + key
        guard let value = object[key], value != .null else {
            if required { report(memberPath, "is mandatory but missing") }
            return nil
        }
        switch value {
        case .bool(let bool): return bool
        default:
            report(memberPath, "must be a boolean, found \(value.kindName)")
            return nil
        }
    }

    /// Checks `_type` against the types allowed where the value stands.
    /// A missing `_type` takes `defaultType` when the declared type is concrete.
    public mutating func type(of object: JSONObject, at path: String, allowed: Set<String>, default defaultType: String?) -> String? {
        guard let value = object["_type"] else {
            if let defaultType { return defaultType }
            report(path + "/_type", "is mandatory here: the declared type is abstract, expected one of \(allowed.sorted().joined(separator: ", "))")
            return nil
        }
        guard case .string(let type) = value else {
            report(path + "/_type", "must be a string, found \(value.kindName)")
            return nil
        }
        guard allowed.contains(type) else {
            if RMSchema.rm110[type] != nil || RMTypeHierarchy.subtypes[type] != nil {
                report(path + "/_type", "\(type) is not allowed here, expected one of \(allowed.sorted().joined(separator: ", "))")
            } else {
                report(path + "/_type", "unknown RM type '\(type)'")
            }
            return nil
        }
        return type
    }

    /// Throws when anything was reported.
    public func finish(_ rmType: String) throws(RMDecodingError) {
        if !problems.isEmpty { throw RMDecodingError(rmType: rmType, problems: problems) }
    }
}
