import JSONCore

/// An occurrence of a template node in a FLAT composition: the node and its
/// FLAT path (`bp/blood_pressure/any_event:1`), with those of the nodes
/// above it, root first, so that a path below a common ancestor keeps its
/// occurrences.
struct FlatInstance {
    /// Root first; the last is this occurrence.
    let chain: [(node: Int, path: String)]
    /// An RM attribute of the node the web template has no node for
    /// (`context/end_time`, FLAT `…/context/_end_time`): the path is the attribute's.
    var isAttribute = false
    /// The occurrence of a node an event without a node of its own is folded
    /// into (`MappingTemplate.foldedEvent`), standing for that event: its time is the event's.
    var isEvent = false

    var node: Int { chain[chain.count - 1].node }
    var path: String { chain[chain.count - 1].path }
}

/// A FLAT composition (`FlatComposition.flat`) read by template node: the
/// occurrences of a node below another, and the leaves of one occurrence
/// (`|code`, `|magnitude`, the plain value).
struct FlatReader {
    let template: MappingTemplate
    /// The leaves of each FLAT path, by suffix (`""` for the value itself, `|code`…).
    private var leaves: [String: [String: JSON]] = [:]
    /// The occurrences present of each repeating node path (`…/any_event`), ascending.
    private var occurrences: [String: [Int]] = [:]
    /// Every FLAT path that has a leaf at or below it.
    private var present: Set<String> = []

    init(flat: JSONObject, template: MappingTemplate) {
        self.template = template
        let slash = UInt8(ascii: "/"), colon = UInt8(ascii: ":")
        for member in flat.members {
            let key = member.key
            let bar = key.utf8.firstIndex(of: UInt8(ascii: "|")) ?? key.utf8.endIndex
            let path = Substring(key.utf8[..<bar])
            leaves[String(path), default: [:]][String(Substring(key.utf8[bar...]))] = member.value
            // Each prefix ending at a segment, read off the key itself; a
            // segment's `:n` is an occurrence of the path before it.
            var lastColon: String.UTF8View.Index?
            var index = path.utf8.startIndex
            while true {
                let end = index == path.utf8.endIndex
                let byte = end ? slash : path.utf8[index]
                if byte == colon { lastColon = index }
                if byte == slash, index > path.utf8.startIndex {
                    let prefix = Substring(path.utf8[..<index])
                    guard present.insert(String(prefix)).inserted || end else {
                        lastColon = nil
                        index = path.utf8.index(after: index)
                        continue
                    }
                    if let colonIndex = lastColon, let occurrence = Int(Substring(path.utf8[path.utf8.index(after: colonIndex)..<index])) {
                        let base = String(Substring(path.utf8[..<colonIndex]))
                        if !(occurrences[base]?.contains(occurrence) ?? false) { occurrences[base, default: []].append(occurrence) }
                    }
                    lastColon = nil
                }
                if end { break }
                index = path.utf8.index(after: index)
            }
        }
        for key in occurrences.keys { occurrences[key]?.sort() }
    }

    /// The root occurrence (the composition).
    var root: FlatInstance? {
        guard let first = template.nodes.first else { return nil }
        return FlatInstance(chain: [(0, first.id)])
    }

    /// The occurrences of `node` that share with `anchor` the nodes both lie
    /// below: the anchor's own occurrence of each common ancestor; below
    /// them, of a repeating node, the occurrence `bound` fixes (an enclosing
    /// method's), else every occurrence present.
    func instances(of node: Int, from anchor: FlatInstance, bound: [Int: String] = [:]) -> [FlatInstance] {
        let chain = template.chain(node)
        var shared = 0
        while shared < chain.count, shared < anchor.chain.count, anchor.chain[shared].node == chain[shared] { shared += 1 }
        guard shared > 0 else { return [] }
        var found = [Array(anchor.chain[..<shared])]
        for index in chain[shared...] {
            let item = template.nodes[index]
            found = found.flatMap { partial -> [[(node: Int, path: String)]] in
                let base = partial[partial.count - 1].path + "/" + item.id
                var paths = item.repeats ? (occurrences[base] ?? []).map { base + ":\($0)" } : [base]
                if let fixed = bound[index] { paths = paths.filter { $0 == fixed } }
                return paths.filter(present.contains).map { partial + [(index, $0)] }
            }
            if found.isEmpty { return [] }
        }
        return found.map { FlatInstance(chain: $0) }
    }

    /// The occurrences of an RM attribute below `node` that FLAT writes as
    /// `_name` (`context/_end_time`), where the composition has it.
    func attributes(_ name: String, of node: Int, from anchor: FlatInstance, bound: [Int: String]) -> [FlatInstance] {
        let flatName = "_" + name.drop { $0 == "_" }
        return instances(of: node, from: anchor, bound: bound).compactMap { owner in
            let path = owner.path + "/" + flatName
            guard present.contains(path) else { return nil }
            return FlatInstance(chain: owner.chain.dropLast() + [(owner.node, path)], isAttribute: true)
        }
    }

    /// The leaves at exactly `path`, by suffix.
    func leaves(_ path: String) -> [String: JSON] { leaves[path] ?? [:] }

    func has(_ path: String) -> Bool { present.contains(path) }

    /// The term mappings of a coded text at `path`, in order: as clients
    /// write them (`…/_mapping:0/target|code`) or as Socle's FLAT output
    /// names the RM attributes (`…/_mappings:0/_target|code`).
    func termMappings(_ path: String) -> [[String: JSON]] {
        for (list, target) in [("/_mapping", "/target"), ("/_mappings", "/_target")] {
            guard let indexes = occurrences[path + list] else { continue }
            return indexes.map { leaves[path + list + ":\($0)" + target] ?? [:] }
        }
        return []
    }
}
