/// A query run for a user limited to some EHRs (a token with a patient
/// context, issue 16 §3) reads those EHRs only, whatever it says: every
/// source of the main query that carries an EHR id is held to them (an
/// inner one in WHERE, a LEFT JOINed one in its join). Node and folder item
/// rows are reached through a composition or a folder, which are held.
extension PlanBuilder {
    func restrict(_ scope: Scope, to ehrIDs: [String]) {
        let allowed = ehrIDs.map { PlanExpression.value(.text($0)) }
        var held = false
        for index in scope.sources.indices {
            let source = scope.sources[index]
            switch source.table {
            case .composition, .ehr, .versionedObject, .version, .folder:
                let condition = allowed.isEmpty ? PlanCondition.always(false) : .anyOf(.column(source.alias, .ehrID), allowed)
                if index == 0 || source.join == .inner { scope.conditions.append(condition) } else { scope.sources[index].on.append(condition) }
                held = true
            case .node, .folderItem, .document: continue
            }
        }
        if !held { scope.conditions.append(.always(false)) }
    }
}

extension PlanBuilder {
    /// Adds the EHR id of each row to the selections, for the access trace:
    /// the first source of the main query that carries one and is always
    /// joined. Not for grouped or DISTINCT queries, whose rows it would change.
    func reportedEHR(_ select: inout SelectPlan) -> Int? {
        guard !select.hasAggregate, !query.select.distinct else { return nil }
        let carriers: Set<PlanTable> = [.composition, .ehr, .versionedObject, .version, .folder]
        guard let source = main.sources.enumerated().first(where: { carriers.contains($0.element.table) && ($0.offset == 0 || $0.element.join == .inner) })
        else { return nil }
        select.selections.append(.scalar(.column(source.element.alias, .ehrID)))
        return select.selections.count - 1
    }
}
