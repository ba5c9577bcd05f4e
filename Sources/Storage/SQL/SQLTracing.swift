import Tracing

/// A client span per SQL statement (OpenTelemetry's database conventions:
/// named by the operation, `db.system.name` and `db.query.text`). The text
/// has `?`/`$n` placeholders, never a bound value, so no patient data.
/// Nothing is recorded unless a tracer is bootstrapped (`SOCLE_OTEL_ENDPOINT`).
enum SQLTracing {
    /// The span's context is passed in, not read from the task: GRDB runs
    /// its closures on its own queues, where the task's values are not.
    static func span<T>(_ sql: String, _ system: DatabaseKind, context: InstrumentationContext, _ body: () throws -> T) rethrows -> T {
        try withSpan(operation(sql), context: context, ofKind: .client) { span in
            if span.isRecording { describe(span, sql, system) }
            return try body()
        }
    }

    static func span<T>(_ sql: String, _ system: DatabaseKind, _ body: () async throws -> T) async rethrows -> T {
        try await withSpan(operation(sql), ofKind: .client) { span in
            if span.isRecording { describe(span, sql, system) }
            return try await body()
        }
    }

    static func describe(_ span: any Span, _ sql: String, _ system: DatabaseKind) {
        span.attributes["db.system.name"] = system.rawValue
        span.attributes["db.query.text"] = sql
    }

    /// `SELECT`, `INSERT`, `WITH`…: the statement's first word.
    static func operation(_ sql: String) -> String {
        let word = sql.drop { $0 == " " || $0 == "\n" || $0 == "(" }.prefix { $0.isLetter }
        return word.isEmpty ? "SQL" : word.uppercased()
    }
}
