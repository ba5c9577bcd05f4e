import JSONCore
import OpenEHR

/// Copies of Synthea patients, for a data set several times the size of
/// the corpus: a patient's transaction Bundle with every id its entries
/// carry replaced by one of the copy's own (the resource ids, their
/// `urn:uuid:` full URLs, and any value ending in one of them: references
/// and identifiers), and every date shifted by a number of days. References
/// to the shared organisations and practitioners (conditional, by
/// identifier) are left as they are, so copies share them as real
/// patients of one hospital would.
public struct SyntheaCopy: Sendable {
    /// Which copy: 0 is the Bundle as it is.
    public let number: Int
    /// Days every date moves by.
    public let shift: Int

    public init(number: Int, daysApart: Int = 7) {
        self.number = number
        shift = number * daysApart
    }

    /// The copy of one patient Bundle; copy 0 returns it unchanged.
    public func copy(_ bundle: JSON) -> JSON {
        guard number > 0 else { return bundle }
        var ids: [Substring: String] = [:]
        for entry in bundle["entry"]?.arrayValue ?? [] {
            for id in [entry["resource"]?["id"]?.stringValue, entry["fullUrl"]?.stringValue.map { String($0.split(separator: ":").last ?? "") }] {
                guard let id, !id.isEmpty else { continue }
                ids[Substring(id)] = renamed(id)
            }
        }
        return rewrite(bundle, ids: ids)
    }

    /// An id of this copy: the original with its first characters replaced
    /// by the copy number in hexadecimal (same length, still a UUID when it was one).
    func renamed(_ id: String) -> String {
        let prefix = String(number, radix: 16)
        let width = max(8, prefix.count)
        guard id.count > width else { return prefix + "-" + id }
        return String(repeating: "0", count: width - prefix.count) + prefix + id.dropFirst(width)
    }

    func rewrite(_ value: JSON, ids: [Substring: String]) -> JSON {
        switch value {
        case .object(let object): .object(JSONObject(object.members.map { ($0.key, rewrite($0.value, ids: ids)) }))
        case .array(let items): .array(items.map { rewrite($0, ids: ids) })
        case .string(let text): .string(rewrite(text, ids: ids))
        default: value
        }
    }

    /// A string ending in an id of the Bundle gets the copy's id; one
    /// starting with a date (`YYYY-MM-DD…`) gets it shifted.
    func rewrite(_ text: String, ids: [Substring: String]) -> String {
        let utf8 = text.utf8
        if utf8.count >= 8 {
            // Ids are found after the last '/' or ':' (a reference, a urn), or as the whole value.
            let start = text.lastIndex { $0 == "/" || $0 == ":" }.map { text.index(after: $0) } ?? text.startIndex
            if let renamed = ids[text[start...]] { return String(text[..<start]) + renamed }
        }
        return shiftedDate(text) ?? text
    }

    /// `YYYY-MM-DD` at the start of `text` moved `shift` days, the rest kept; nil when it does not start so.
    func shiftedDate(_ text: String) -> String? {
        let bytes = Array(text.utf8.prefix(11))
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes.count == 10 || bytes[10] == UInt8(ascii: "T"),
            let year = Self.number(bytes[0..<4]), let month = Self.number(bytes[5..<7]), let day = Self.number(bytes[8..<10]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let (y, m, d) = ISODateTime.civil(fromDays: ISODateTime.daysSinceEpoch(year: year, month: month, day: day) + shift)
        let date = String(format: "%04d-%02d-%02d", y, m, d)
        return date + text.dropFirst(10)
    }

    static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
