/// A plan as readable text, for `explain` and golden tests: one clause a
/// line, values written as literals (the SQL binds them).
extension QueryPlan: CustomStringConvertible {
    public var description: String {
        var lines: [String] = []
        if let first = sources.first { lines.append("FROM \(first.table.rawValue) \(first.alias)\(fixedOrder ? " (joined in this order)" : "")") }
        for source in sources.dropFirst() {
            let join = source.join == .left ? "LEFT JOIN" : "JOIN"
            lines.append("\(join) \(source.table.rawValue) \(source.alias) ON \(Self.text(source.on))")
        }
        if !conditions.isEmpty { lines.append("WHERE \(Self.text(conditions))") }
        lines.append("SELECT \(distinct ? "DISTINCT " : "")" + selections.map(Self.text).joined(separator: "; "))
        if !groupingSelections.isEmpty { lines.append("GROUP BY " + groupingSelections.map { "selection \($0 + 1)" }.joined(separator: ", ")) }
        if !orderBy.isEmpty {
            lines.append("ORDER BY " + orderBy.map { order in
                let key: String
                switch order.key {
                case .expression(let expression): key = Self.text(expression)
                case .selection(let index): key = "selection \(index + 1)"
                }
                return key + (order.descending ? " DESC" : " ASC")
            }.joined(separator: ", "))
        }
        if let limit { lines.append("LIMIT \(limit)\(distinctAfterRead ? " (after reading)" : "")") }
        if offset > 0 { lines.append("OFFSET \(offset)\(distinctAfterRead ? " (after reading)" : "")") }
        return lines.joined(separator: "\n")
    }

    static func text(_ selection: PlanSelection) -> String {
        switch selection {
        case .scalar(let expression): text(expression)
        case .node(let composition, let version, let num, let node):
            "node(\(composition), version \(text(version)), number \(text(num))\(node.map { ", \($0)" } ?? ""))"
        case .version(let alias): "version(\(alias))"
        case .extreme(let extreme):
            "\(extreme.maximum ? "MAX" : "MIN") node(\(text(extreme.objectID)), version \(text(extreme.versionNumber)), number \(text(extreme.num))) by \(extreme.keys.map(text).joined(separator: ", "))"
        }
    }

    static func text(_ conditions: [PlanCondition]) -> String {
        conditions.map { text($0) }.joined(separator: " AND ")
    }

    static func text(_ condition: PlanCondition) -> String {
        switch condition {
        case .always(let value): value ? "TRUE" : "FALSE"
        case .compare(let a, let op, let b): "\(text(a)) \(op.rawValue) \(text(b))"
        case .isNull(let a): "\(text(a)) IS NULL"
        case .isNotNull(let a): "\(text(a)) IS NOT NULL"
        case .anyOf(let a, let values): "\(text(a)) IN (\(values.map(text).joined(separator: ", ")))"
        case .like(let a, let pattern): "\(text(a)) LIKE \(text(.value(.text(pattern))))"
        case .pathMatches(let a, let pattern): "\(text(a)) MATCHES PATH \(text(.value(.text(pattern))))"
        case .pathBelow(let a, let base, let relative): "\(text(a)) MATCHES PATH \(text(base)) + \(text(.value(.text(relative))))"
        case .and(let items): "(" + items.map { text($0) }.joined(separator: " AND ") + ")"
        case .or(let items): "(" + items.map { text($0) }.joined(separator: " OR ") + ")"
        case .not(let inner): "NOT \(text(inner))"
        case .exists(let sub): "EXISTS (\(text(sub)))"
        case .notExists(let sub): "NOT EXISTS (\(text(sub)))"
        case .queryable(let ehrID): "queryable EHR (\(text(ehrID)))"
        case .matched(let alias, _): "\(alias) MATCHED"
        }
    }

    static func text(_ sub: PlanSubquery) -> String {
        let from = sub.sources.enumerated().map { index, source in
            index == 0 ? "\(source.table.rawValue) \(source.alias)" : "JOIN \(source.table.rawValue) \(source.alias) ON \(text(source.on))"
        }.joined(separator: " ")
        return "FROM " + from + (sub.conditions.isEmpty ? "" : " WHERE " + text(sub.conditions))
    }

    static func text(_ expression: PlanExpression) -> String {
        switch expression {
        case .column(let alias, let column): "\(alias).\(column.rawValue)"
        case .value(let value), .constant(let value):
            switch value {
            case .null: "NULL"
            case .integer(let number): String(number)
            case .real(let number): "\(number)"
            case .text(let text): "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
            }
        case .concat(let parts): parts.map(text).joined(separator: " || ")
        case .function(let function, let arguments): "\(function.rawValue)(\(arguments.map(text).joined(separator: ", ")))"
        case .aggregate(let function, let distinct, let argument): "\(function.rawValue)(\(distinct ? "DISTINCT " : "")\(argument.map(text) ?? "*"))"
        case .inOneUnit(let units, let inner): "\(text(inner)) if one unit (\(text(units)))"
        case .notDriving(let inner): "\(text(inner)) (not driving)"
        case .tag(let tag):
            "\(tag.presence ? "TAGGED" : "TAG")(\(text(tag.objectID)) v\(text(tag.versionNumber)), \(text(tag.key)), \(text(tag.targetPath)))"
        // The plan says where a value is not read from the index.
        case .stored(let stored): "stored JSON(\(stored.document), \(text(stored.jsonPath)))"
        }
    }
}
