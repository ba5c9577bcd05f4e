import Yams

/// The problems found while reading one file, each with its place.
final class ProblemLog {
    let file: String
    private(set) var problems: [MappingProblem] = []

    init(file: String) { self.file = file }

    func add(_ node: Node?, _ reason: String) {
        problems.append(MappingProblem(file: file, line: node?.mark?.line, column: node?.mark?.column, reason: reason))
    }
}

/// A YAML mapping read key by key: a missing or ill-typed value is reported
/// at its line, and so is every key the reader did not expect.
struct YAMLObject {
    let node: Node
    /// What the object is, for messages: `mapping 'systolic'`, `the context`.
    let subject: String
    let log: ProblemLog
    private let values: [String: (key: Node, value: Node)]

    /// Nil, with a problem, when `node` is not a mapping.
    init?(_ node: Node, _ subject: String, log: ProblemLog) {
        guard case .mapping(let mapping) = node else {
            log.add(node, "\(subject) must be a mapping (key: value)")
            return nil
        }
        var values: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            values[key.string ?? "\(key)"] = (key, value)
        }
        self.node = node
        self.subject = subject
        self.log = log
        self.values = values
    }

    /// Reports each key that is not in `allowed`, with the allowed ones.
    func refuseUnknownKeys(_ allowed: Set<String>) {
        for (key, entry) in values.sorted(by: { $0.key < $1.key }) where !allowed.contains(key) {
            log.add(entry.key, "'\(key)' is not a key of \(subject); its keys are \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// The value of `key`; nil when absent or null.
    func value(_ key: String) -> Node? {
        guard let node = values[key]?.value, node.null == nil else { return nil }
        return node
    }

    /// A scalar's text; reports a missing required key or a value that is not a scalar.
    func string(_ key: String, required: Bool = false) -> String? {
        guard let node = value(key) else {
            if required { log.add(self.node, "\(subject) lacks '\(key)'") }
            return nil
        }
        guard case .scalar(let scalar) = node else {
            log.add(node, "'\(key)' of \(subject) must be a single value")
            return nil
        }
        return scalar.string
    }

    /// A boolean scalar (`true`, `false`).
    func bool(_ key: String) -> Bool? {
        guard let node = value(key) else { return nil }
        guard let value = node.bool else {
            log.add(node, "'\(key)' of \(subject) must be true or false")
            return nil
        }
        return value
    }

    /// A nested mapping.
    func object(_ key: String, _ subject: String? = nil) -> YAMLObject? {
        value(key).flatMap { YAMLObject($0, subject ?? "'\(key)' of \(self.subject)", log: log) }
    }

    /// The items of a list; a single mapping counts as a list of one when
    /// `single` allows it (conditions are written both ways).
    func list(_ key: String, allowingSingle single: Bool = false) -> [Node] {
        guard let node = value(key) else { return [] }
        switch node {
        case .sequence(let sequence): return Array(sequence)
        case .mapping where single: return [node]
        default:
            log.add(node, "'\(key)' of \(subject) must be a list")
            return []
        }
    }

    /// One value or a list of values, as texts (criteria are written both ways).
    func strings(_ key: String) -> [String] {
        guard let node = value(key) else { return [] }
        switch node {
        case .scalar(let scalar): return [scalar.string]
        case .sequence(let sequence):
            return sequence.compactMap { item in
                guard case .scalar(let scalar) = item else {
                    log.add(item, "each item of '\(key)' of \(subject) must be a single value")
                    return nil
                }
                return scalar.string
            }
        default:
            log.add(node, "'\(key)' of \(subject) must be a value or a list of values")
            return []
        }
    }

    /// The line of this object, for a model that keeps where it was written.
    var line: Int? { node.mark?.line }
}
