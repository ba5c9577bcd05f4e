/// An RM type name as templates write it: `DV_INTERVAL<DV_COUNT>` is the
/// generic type DV_INTERVAL with its parameter DV_COUNT (RM 1.1.0 §DV_INTERVAL<T>).
enum RMTypeName {
    /// The base type and the parameter, if any; split on the ASCII brackets' bytes.
    static func split(_ name: String) -> (base: String, parameter: String?) {
        let utf8 = name.utf8
        guard utf8.last == UInt8(ascii: ">"), let open = utf8.firstIndex(of: UInt8(ascii: "<")) else { return (name, nil) }
        return (String(name[..<open]), String(name[utf8.index(after: open)..<utf8.index(before: utf8.endIndex)]))
    }
}
