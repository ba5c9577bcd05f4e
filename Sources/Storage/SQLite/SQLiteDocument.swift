import Foundation
import GRDB
import Synchronization

/// `socle_document(data)`: a version's stored document (`StoredDocument`)
/// as JSON text, inflated when it is stored compressed: what SQLite's JSON
/// functions read a value outside the AQL index from (`PlanRenderer.stored`).
/// Each connection has its own, which keeps the last document it inflated:
/// a statement reading two values of one row inflates it once (measured:
/// two values over the population query's half-year 411 ms without, the
/// same as one value with it).
enum SQLiteDocument {
    static func function() -> DatabaseFunction {
        let last = Mutex<(stored: Data, text: String)?>(nil)
        return DatabaseFunction("socle_document", argumentCount: 1, pure: true) { values in
            switch values[0].storage {
            case .blob(let data):
                if let text = last.withLock({ $0?.stored == data ? $0?.text : nil }) { return text }
                guard let document = StoredDocument.decode([UInt8](data)) else { return nil }
                let text = String(decoding: document, as: UTF8.self)
                last.withLock { $0 = (data, text) }
                return text
            case .string(let text): return text
            default: return nil
            }
        }
    }
}
