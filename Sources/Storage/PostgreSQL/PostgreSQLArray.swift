import NIOCore
import PostgresNIO

/// An `SQLArray` in PostgreSQL's binary array format (`array_recv`): the
/// number of dimensions (1), whether any element is null, the element
/// type, the length and lower bound (1), then each element as its length
/// (-1 for null) and its binary value. Nothing is parsed on the server: a
/// composition's node rows bound as one such array per column cost
/// PostgreSQL no JSON parsing (BENCHMARKS.md §A commit in one statement, LZ4
/// documents, node rows as binary arrays).
struct PostgreSQLArray: PostgresThrowingDynamicTypeEncodable {
    let array: SQLArray

    init(_ array: SQLArray) { self.array = array }

    var elementType: PostgresDataType {
        switch array.element {
        case .integer: .int8
        case .real: .float8
        case .text: .text
        }
    }

    var psqlType: PostgresDataType {
        switch array.element {
        case .integer: .int8Array
        case .real: .float8Array
        case .text: .textArray
        }
    }

    var psqlFormat: PostgresFormat { .binary }

    /// A placeholder for an array of `element`s, cast to its type in the statement's text.
    static func placeholder(_ element: SQLArray.Element) -> String {
        switch element {
        case .integer: "?::bigint[]"
        case .real: "?::float8[]"
        case .text: "?::text[]"
        }
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) throws {
        buffer.writeInteger(Int32(1))
        buffer.writeInteger(Int32(array.values.contains(.null) ? 1 : 0))
        buffer.writeInteger(elementType.rawValue)
        buffer.writeInteger(Int32(array.values.count))
        buffer.writeInteger(Int32(1))
        for value in array.values {
            switch (array.element, value) {
            case (.integer, .integer(let number)):
                buffer.writeInteger(Int32(8))
                buffer.writeInteger(number)
            case (.real, .real(let number)):
                buffer.writeInteger(Int32(8))
                buffer.writeInteger(number.bitPattern)
            case (.real, .integer(let number)):
                buffer.writeInteger(Int32(8))
                buffer.writeInteger(Double(number).bitPattern)
            case (.text, .text(let text)):
                let start = buffer.writerIndex
                buffer.writeInteger(Int32(0))
                let length = buffer.writeString(text)
                buffer.setInteger(Int32(length), at: start)
            case (_, .null):
                buffer.writeInteger(Int32(-1))
            default:
                throw StoreError(.invalidValue, "an array of \(array.element) values holds \(value)")
            }
        }
    }
}
