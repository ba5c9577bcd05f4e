import Foundation
import JSONCore

/// A quantity: a decimal value and a UCUM unit or a calendar duration word
/// (FHIRPath 2.0 §Quantity).
public struct FHIRPathQuantity: Sendable, Hashable {
    public var value: FHIRPathDecimal
    public var unit: String

    public init(value: FHIRPathDecimal, unit: String) {
        self.value = value
        self.unit = unit
    }

    public var isCalendarDuration: Bool { UCUMUnit.calendarUnits[unit] != nil }

    /// The UCUM code the unit stands for (`week` → `wk`).
    public var ucumCode: String { UCUMUnit.calendarUnits[unit] ?? unit }

    public var description: String {
        isCalendarDuration ? "\(value.description) \(unit)" : "\(value.description) '\(unit)'"
    }
}

/// One item of a FHIRPath collection: a node of a resource or a System value.
public enum FHIRPathValue: Sendable {
    case node(FHIRNode)
    case boolean(Bool)
    case integer(Int)
    case decimal(FHIRPathDecimal)
    case string(String)
    case temporal(FHIRPathTemporal)
    case quantity(FHIRPathQuantity)
    /// The result of type(): a namespace and a name.
    case typeInfo(namespace: String, name: String)

    /// The System value a FHIR primitive converts to (FHIRPath §Models: FHIR
    /// primitives convert implicitly); nodes of complex types stay nodes.
    public var system: FHIRPathValue {
        guard case .node(let node) = self else { return self }
        return Self.systemValue(of: node) ?? self
    }

    static func systemValue(of node: FHIRNode) -> FHIRPathValue? {
        guard let json = node.value else { return nil }
        switch json {
        case .bool(let value): return .boolean(value)
        case .number(let text):
            if node.type == "decimal" { return FHIRPathDecimal(jsonNumber: text).map { .decimal($0) } }
            if let integer = Int(text) { return .integer(integer) }
            return FHIRPathDecimal(jsonNumber: text).map { .decimal($0) }
        case .string(let text):
            switch node.type {
            case "date": return FHIRPathTemporal(text, kind: .date).map { .temporal($0) } ?? .string(text)
            case "dateTime", "instant":
                return FHIRPathTemporal(text, kind: .dateTime).map { .temporal($0) } ?? .string(text)
            case "time": return FHIRPathTemporal(text, kind: .time).map { .temporal($0) } ?? .string(text)
            default: return .string(text)
            }
        case .object:
            if FHIRSchema.r4.isType(node.type, a: "Quantity"), let value = json["value"], case .number(let text) = value,
                let decimal = FHIRPathDecimal(jsonNumber: text)
            {
                let system = json["system"]?.stringValue
                let code = json["code"]?.stringValue
                let unit = (system == nil || system == "http://unitsofmeasure.org") ? (code ?? json["unit"]?.stringValue ?? "1") : (json["unit"]?.stringValue ?? code ?? "1")
                return .quantity(FHIRPathQuantity(value: decimal, unit: unit))
            }
            return nil
        default: return nil
        }
    }

    /// FHIRPath type name with namespace.
    public var typeName: (namespace: String, name: String) {
        switch self {
        case .node(let node): return ("FHIR", node.type.contains(".") ? "BackboneElement" : node.type)
        case .boolean: return ("System", "Boolean")
        case .integer: return ("System", "Integer")
        case .decimal: return ("System", "Decimal")
        case .string: return ("System", "String")
        case .temporal(let t):
            switch t.kind {
            case .date: return ("System", "Date")
            case .dateTime: return ("System", "DateTime")
            case .time: return ("System", "Time")
            }
        case .quantity: return ("System", "Quantity")
        case .typeInfo: return ("System", "Object")
        }
    }

    /// The text of a value as the test suite and toString() write it.
    public var text: String? {
        switch system {
        case .boolean(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .decimal(let d): return d.description
        case .string(let s): return s
        case .temporal(let t): return t.description
        case .quantity(let q): return q.description
        case .typeInfo(let namespace, let name): return "\(namespace).\(name)"
        case .node: return nil
        }
    }
}
