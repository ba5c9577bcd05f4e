import Foundation

/// A value a search parameter finds in a resource, in the form the search
/// of its type compares with (R4 §Search, by parameter type).
public enum SearchValue: Sendable, Equatable {
    /// `normalized`: lower case without accents, for the default prefix
    /// match; `exact`: as written, for `:exact`.
    case string(normalized: String, exact: String)
    /// system|code, with the display or text for `:text`.
    case token(system: String?, code: String?, text: String?)
    /// A reference: the resource type and id when it is relative or local
    /// (`#id` of a contained resource), the URL as written otherwise; a
    /// version for `Type/id/_history/v` and canonical `url|version`.
    case reference(type: String?, id: String?, url: String?, version: String?)
    /// The interval a date, period or timing covers, in microseconds since
    /// 1970-01-01T00:00Z, both ends inclusive; nil for an open end.
    case date(low: Int64?, high: Int64?)
    /// A number and the interval its written precision implies.
    case number(value: Decimal, low: Decimal, high: Decimal)
    /// A quantity as written, and canonicalised to UCUM base units when
    /// the unit is UCUM and known (`5 mg` → `0.005 g`).
    case quantity(value: Decimal, system: String?, code: String?, unit: String?, canonicalValue: Decimal?, canonicalCode: String?)
    case uri(String)
    /// One value per component, in the order of the definition.
    case composite([SearchValue])
    /// A place (`near` on Location, R4 search §special): WGS84 degrees.
    case position(latitude: Double, longitude: Double)
}

/// One index entry: the parameter's code and a value it matched.
public struct SearchIndexEntry: Sendable, Equatable {
    public let code: String
    public let type: SearchParameterDefinition.ParameterType
    public let value: SearchValue

    public init(code: String, type: SearchParameterDefinition.ParameterType, value: SearchValue) {
        self.code = code
        self.type = type
        self.value = value
    }
}

extension SearchValue {
    /// The parameter type this value is of (`token`, `date`, …).
    public var kind: String {
        switch self {
        case .string: SearchParameterDefinition.ParameterType.string.rawValue
        case .token: SearchParameterDefinition.ParameterType.token.rawValue
        case .reference: SearchParameterDefinition.ParameterType.reference.rawValue
        case .date: SearchParameterDefinition.ParameterType.date.rawValue
        case .number: SearchParameterDefinition.ParameterType.number.rawValue
        case .quantity: SearchParameterDefinition.ParameterType.quantity.rawValue
        case .uri: SearchParameterDefinition.ParameterType.uri.rawValue
        case .composite: SearchParameterDefinition.ParameterType.composite.rawValue
        case .position: SearchParameterDefinition.ParameterType.special.rawValue
        }
    }
}
