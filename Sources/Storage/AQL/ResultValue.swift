import AQL

/// One value of a result row, for one `PlanSelection` of the plan, as
/// `AQLStore.run` reads it.
public enum ResultValue: Sendable, Equatable {
    case scalar(AQLValue)
    /// Nil when the node is absent (a path that matched nothing).
    case node(NodeReference?)
    /// A version's envelope, without its data.
    case version(VersionRecord?)
}

/// A node of a stored composition version: where to find its RM object,
/// and the values the index keeps of it.
public struct NodeReference: Sendable, Equatable {
    public var objectID: String
    public var versionNumber: Int
    /// The node's pre-order number in its composition (`NodeProjection`).
    public var num: Int
    /// Absent for a composition root.
    public var leaf: IndexedLeaf?

    public init(objectID: String, versionNumber: Int, num: Int, leaf: IndexedLeaf?) {
        self.objectID = objectID
        self.versionNumber = versionNumber
        self.num = num
        self.leaf = leaf
    }
}

/// What the node index keeps of a node (`IndexedNode`'s typed columns).
public struct IndexedLeaf: Sendable, Equatable {
    public var rmType: String
    public var number: Double?
    public var string: String?
    public var code: String?
    public var terminology: String?
    public var units: String?
    public var name: String?

    public init(rmType: String, number: Double?, string: String?, code: String?, terminology: String?, units: String?, name: String?) {
        self.rmType = rmType
        self.number = number
        self.string = string
        self.code = code
        self.terminology = terminology
        self.units = units
        self.name = name
    }
}
