import Synchronization

/// The shapes and places (`aql_shape`, `aql_place`) this process has seen
/// committed to one database, so that a commit leaves out the entries its
/// nodes share with earlier compositions instead of inserting each again
/// (`INSERT … ON CONFLICT DO NOTHING` of every entry was a quarter of a
/// blood pressure's commit and 40 % of an IPS's, BENCHMARKS.md).
///
/// What it knows holds for one generation of the dictionary tables: a
/// random number `aql_generation` receives when the tables are created,
/// which a rebuild (here or in another process) replaces. A commit that
/// leaves entries out checks, in its own transaction, that the tables are
/// still that generation (`IndexSchema.dictionariesChanged` otherwise,
/// upon which the commit forgets what it knew and runs again with every
/// entry). Entries are never removed within a generation (an erasure
/// removes node rows, not the dictionaries), and ids are learnt only from
/// transactions that committed.
public final class NodeDictionaryCache: Sendable {
    /// The ids one generation of the tables holds.
    public struct Known: Sendable {
        public var generation: Int64
        public var shapes: Set<Int64>
        public var places: Set<Int64>
    }

    enum State {
        /// Not read yet, or forgotten.
        case unknown
        /// The generation could not be read (tables made before it existed).
        case unavailable
        case known(Known)
    }

    let state = Mutex(State.unknown)

    public init() {}

    /// What is known, reading the generation first if needed.
    func current(reading generation: () async throws -> Int64?) async -> Known? {
        switch state.withLock({ $0 }) {
        case .known(let known): return known
        case .unavailable: return nil
        case .unknown:
            guard let value = try? await generation() else {
                state.withLock { if case .unknown = $0 { $0 = .unavailable } }
                return nil
            }
            return state.withLock { current in
                if case .known(let known) = current { return known }
                let known = Known(generation: value, shapes: [], places: [])
                current = .known(known)
                return known
            }
        }
    }

    /// Ids a committed transaction wrote or found, in the tables of `generation`.
    func learn(_ named: Named, generation: Int64) {
        state.withLock { current in
            guard case .known(var known) = current, known.generation == generation else { return }
            // Most commits name nothing new: then nothing changes (the sets, which
            // commits in flight share, are not copied).
            let (shapes, places) = (named.shapes.filter { !known.shapes.contains($0) }, named.places.filter { !known.places.contains($0) })
            guard !shapes.isEmpty || !places.isEmpty else { return }
            current = .unknown  // not copied while changed
            known.shapes.formUnion(shapes)
            known.places.formUnion(places)
            current = .known(known)
        }
    }

    /// Forgets everything: the tables changed (a rebuild) or may have.
    public func forget() {
        state.withLock { $0 = .unknown }
    }

    /// The ids a commit's compositions name.
    struct Named: Sendable {
        var shapes: [Int64] = []
        var places: [Int64] = []
    }

    /// One commit's use of what is known: the projection leaves out what
    /// `known` holds and records what the commit names.
    final class Use: Sendable {
        let known: Known
        let named = Mutex(Named())

        init(_ known: Known) { self.known = known }

        func record(shapes: some Sequence<Int64>, places: some Sequence<Int64>) {
            named.withLock {
                $0.shapes.append(contentsOf: shapes)
                $0.places.append(contentsOf: places)
            }
        }
    }
}
