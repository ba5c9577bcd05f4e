import CZlib

/// A version's document as the `object_version.data` column holds it
/// (docs/architecture.md §Storage, stored documents). On SQLite a document
/// of 256 bytes or more is compressed when that makes it smaller: a zero
/// byte (which no JSON document starts with), its length as four bytes,
/// little-endian, then the zlib stream (RFC 1950). PostgreSQL compresses
/// large values itself (TOAST, with LZ4 from migration 11), so there the
/// document is kept as it is.
/// Rows written before either way read back the same.
enum StoredDocument {
    static let marker: UInt8 = 0
    static let smallest = 256

    /// The column's bytes for a document.
    static func encode(_ document: [UInt8], _ kind: DatabaseKind) -> [UInt8] {
        guard kind == .sqlite, document.count >= smallest, document.count <= Int(UInt32.max) else { return document }
        var size = compressBound(uLong(document.count))
        var stored = [UInt8](repeating: 0, count: 5 + Int(size))
        let status = stored.withUnsafeMutableBufferPointer { out in
            document.withUnsafeBufferPointer { input in
                // Level 1: most of the size gain at a fraction of the default level's time.
                compress2(out.baseAddress! + 5, &size, input.baseAddress, uLong(document.count), 1)
            }
        }
        guard status == Z_OK, 5 + Int(size) < document.count else { return document }
        stored.removeSubrange((5 + Int(size))...)
        stored[0] = marker
        for index in 0..<4 { stored[1 + index] = UInt8(truncatingIfNeeded: UInt32(document.count) >> (8 * index)) }
        return stored
    }

    /// The document in a column's bytes, or nil when they are compressed
    /// and do not inflate to the length they give.
    static func decode(_ stored: [UInt8]) -> [UInt8]? {
        guard stored.count > 5, stored[0] == marker else { return stored }
        let length = (0..<4).reduce(0) { $0 | Int(stored[1 + $1]) << (8 * $1) }
        // Deflate expands by at most 1,032 times (RFC 1951's longest match
        // in two bits): a larger length is damage, not a buffer to allocate.
        guard length <= (stored.count - 5) * 1032 else { return nil }
        var document = [UInt8](repeating: 0, count: length)
        var size = uLong(length)
        let status = document.withUnsafeMutableBufferPointer { out in
            stored.withUnsafeBufferPointer { input in uncompress(out.baseAddress, &size, input.baseAddress! + 5, uLong(stored.count - 5)) }
        }
        guard status == Z_OK, Int(size) == length else { return nil }
        return document
    }

    /// The document read from a row's column: what cannot be inflated is
    /// read as no document (its JSON then fails to parse, naming the version).
    static func decode(_ row: SQLRow, _ index: Int) -> [UInt8]? {
        row.bytes(index).map { decode($0) ?? [] }
    }
}
