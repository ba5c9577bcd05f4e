import Foundation
import GRDB

/// `socle_document(data)`: a version's stored document (`StoredDocument`)
/// as JSON text, inflated when it is stored compressed: what SQLite's JSON
/// functions read a value outside the AQL index from (`PlanRenderer.stored`).
enum SQLiteDocument {
    static let function = DatabaseFunction("socle_document", argumentCount: 1, pure: true) { values in
        switch values[0].storage {
        case .blob(let data): StoredDocument.decode([UInt8](data)).map { String(decoding: $0, as: UTF8.self) }
        case .string(let text): text
        default: nil
        }
    }
}
