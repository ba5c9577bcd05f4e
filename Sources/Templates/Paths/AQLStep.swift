/// One step of an AQL or archetype path: an attribute, optionally a node id
/// and a name.
public struct AQLStep: Equatable, Sendable {
    public var attribute: String
    public let nodeID: String?
    public let name: String?
    /// `nodeID|name`: what tells apart the objects of one attribute (kept, not
    /// rebuilt for every FLAT key that walks the step).
    let key: String

    public init(attribute: String, nodeID: String? = nil, name: String? = nil) {
        self.attribute = attribute
        self.nodeID = nodeID
        self.name = name
        key = Self.key(nodeID, name)
    }

    static func key(_ nodeID: String?, _ name: String?) -> String { (nodeID ?? "") + "|" + (name ?? "") }

    /// `/items[at0004]/value`, `/content[openEHR-… and name/value='x']`, and
    /// the archetype path form `/items[at0001, 'x']` (a leading `[root]` step
    /// has an empty attribute). A predicate's node id ends at its first comma or
    /// space; its name is its quoted literal, `\'` standing for a quote and `\\`
    /// for a backslash; `/` and `]` inside quotes belong to the name. Scanned
    /// byte by byte: every separator is ASCII.
    public static func parse(_ path: String) -> [AQLStep] { scan(path).steps }

    /// The steps of `path`, or nil when a predicate is not closed (`parse`
    /// stops there silently).
    public static func parseComplete(_ path: String) -> [AQLStep]? {
        let scanned = scan(path)
        return scanned.complete ? scanned.steps : nil
    }

    private static func scan(_ path: String) -> (steps: [AQLStep], complete: Bool) {
        var steps: [AQLStep] = []
        var complete = true
        var utf8 = Array(path.utf8)
        return utf8.withUnsafeMutableBufferPointer { bytes -> (steps: [AQLStep], complete: Bool) in
            let slash = UInt8(ascii: "/"), open = UInt8(ascii: "["), close = UInt8(ascii: "]"), quote = UInt8(ascii: "'")
            let backslash = UInt8(ascii: "\\"), comma = UInt8(ascii: ","), space = UInt8(ascii: " ")
            func text(_ from: Int, _ to: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self) }
            var i = 0
            let count = bytes.count
            while i < count {
                if bytes[i] == slash { i += 1 }
                let attributeStart = i
                while i < count, bytes[i] != open, bytes[i] != slash { i += 1 }
                let attribute = text(attributeStart, i)
                var nodeID: String?
                var stepName: String?
                var hasPredicate = false
                if i < count, bytes[i] == open {
                    i += 1
                    let predicateStart = i
                    var nodeEnd: Int?
                    var name: [UInt8]?
                    var closed = false
                    while i < count {
                        let byte = bytes[i]
                        if byte == quote {
                            // The quoted name, unescaped.
                            if nodeEnd == nil { nodeEnd = i }
                            var literal: [UInt8] = []
                            i += 1
                            while i < count, bytes[i] != quote {
                                if bytes[i] == backslash, i + 1 < count { i += 1 }
                                literal.append(bytes[i])
                                i += 1
                            }
                            name = literal
                        } else if byte == close {
                            closed = true
                            break
                        } else if nodeEnd == nil, byte == comma || byte == space {
                            nodeEnd = i
                        }
                        i += 1
                    }
                    guard closed else {
                        complete = false
                        break
                    }
                    nodeID = text(predicateStart, nodeEnd ?? i)
                    stepName = name.map { String(decoding: $0, as: UTF8.self) }
                    hasPredicate = true
                    i += 1
                }
                if !attribute.isEmpty || hasPredicate { steps.append(AQLStep(attribute: attribute, nodeID: nodeID, name: stepName)) }
            }
            return (steps, complete)
        }
    }
}
