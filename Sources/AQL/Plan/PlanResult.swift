/// One value of a result row, for one `PlanSelection`, as Storage reads it.
public enum ResultValue: Sendable, Equatable {
    case scalar(AQLValue)
    /// Nil when the node is absent (a path that matched nothing).
    case node(NodeReference?)
    case version(VersionReference?)
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

/// A version's envelope without its data.
public struct VersionReference: Sendable, Equatable {
    public var objectID: String
    public var versionNumber: Int
    public var contributionID: String
    public var systemID: String
    /// The committer's PARTY_PROXY as canonical JSON.
    public var committer: String
    public var timeCommitted: Int64
    public var changeType: String
    public var description: String?
    public var lifecycleState: String

    public init(
        objectID: String, versionNumber: Int, contributionID: String, systemID: String, committer: String, timeCommitted: Int64, changeType: String,
        description: String?, lifecycleState: String
    ) {
        self.objectID = objectID
        self.versionNumber = versionNumber
        self.contributionID = contributionID
        self.systemID = systemID
        self.committer = committer
        self.timeCommitted = timeCommitted
        self.changeType = changeType
        self.description = description
        self.lifecycleState = lifecycleState
    }
}
