import Synchronization

/// What a request's handler learnt about the patients it touched, for the
/// access trace (`AccessTraceMiddleware`): the patients whose data it read,
/// returned or wrote that the path does not name, the resources, the query.
/// One per request, shared by reference with the handler.
final class AccessNote: Sendable {
    struct State {
        var patients: [String] = []
        var resources: [String] = []
        var query: String?
        var breakTheGlass: String?
    }

    let state = Mutex(State())

    func patients(_ patients: some Sequence<String>) {
        state.withLock { state in
            for patient in patients where !state.patients.contains(patient) { state.patients.append(patient) }
        }
    }

    func resources(_ resources: some Sequence<String>) {
        state.withLock { state in
            for resource in resources where !state.resources.contains(resource) { state.resources.append(resource) }
        }
    }

    func query(_ text: String) { state.withLock { $0.query = text } }

    /// The reason given to reach a patient outside one's care.
    func breakTheGlass(_ reason: String) { state.withLock { $0.breakTheGlass = reason } }

    var recorded: State { state.withLock { $0 } }
}
