/// An interval of a constraint (`occurrences`, `existence`, a magnitude
/// range); a missing bound is unbounded.
public struct ConstraintInterval<Bound: Comparable & Sendable>: Sendable, Equatable {
    public var lower: Bound?
    public var upper: Bound?
    public var lowerIncluded: Bool
    public var upperIncluded: Bool

    public init(lower: Bound?, upper: Bound?, lowerIncluded: Bool = true, upperIncluded: Bool = true) {
        self.lower = lower
        self.upper = upper
        self.lowerIncluded = lowerIncluded
        self.upperIncluded = upperIncluded
    }

    public func contains(_ value: Bound) -> Bool {
        if let lower { if lowerIncluded ? value < lower : value <= lower { return false } }
        if let upper { if upperIncluded ? value > upper : value >= upper { return false } }
        return true
    }

    /// `0..1`, `1..*`, `>=0.0`: for messages.
    public var text: String {
        switch (lower, upper) {
        case (let lower?, let upper?) where lowerIncluded && upperIncluded: "\(lower)..\(upper)"
        case (let lower?, nil): "\(lowerIncluded ? ">=" : ">")\(lower)"
        case (nil, let upper?): "\(upperIncluded ? "<=" : "<")\(upper)"
        case (let lower?, let upper?): "\(lowerIncluded ? "[" : "(")\(lower)..\(upper)\(upperIncluded ? "]" : ")")"
        case (nil, nil): "*"
        }
    }
}

/// C_PRIMITIVE (AM 1.4 §C_PRIMITIVE): the constraint on a leaf value.
public enum CPrimitive: Sendable, Equatable {
    case string(pattern: String?, list: [String])
    case integer(list: [Int], range: ConstraintInterval<Int>?)
    case real(list: [Double], range: ConstraintInterval<Double>?)
    case boolean(trueValid: Bool, falseValid: Bool)
    case date(pattern: String?)
    case time(pattern: String?)
    case dateTime(pattern: String?)
    case duration(pattern: String?, range: ConstraintInterval<String>?)
}

/// One allowed unit of a C_DV_QUANTITY with its magnitude and precision.
public struct QuantityItem: Sendable, Equatable {
    public var units: String
    public var magnitude: ConstraintInterval<Double>?
    public var precision: ConstraintInterval<Int>?
}

/// One allowed value of a C_DV_ORDINAL.
public struct OrdinalItem: Sendable, Equatable {
    public var value: Int
    public var terminology: String
    public var code: String
}

/// An archetype term: its text and description in the template's language.
public struct ArchetypeTerm: Sendable, Equatable {
    public var text: String
    public var description: String
}
