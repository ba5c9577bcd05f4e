import Foundation
import Hummingbird
import Metrics
import Prometheus
import Storage
import Synchronization

/// Who may read `/metrics` (`SOCLE_METRICS`): users with the admin role,
/// as the admin API (the default), anyone (a Prometheus on a private
/// network), or no one (the endpoint and the request metrics off).
public enum MetricsAccess: String, Sendable, CaseIterable {
    case admin, `public`, off
}

/// The process's metrics in the Prometheus text format (swift-metrics
/// through swift-prometheus): request durations by route template,
/// method and status (`RequestMetricsMiddleware`) and Socle's own (`socle_*`). Labels carry route templates, never a path's ids.
enum SocleMetrics {
    /// One registry per process, bootstrapped into swift-metrics the first
    /// time a server with metrics on is built (swift-metrics takes one
    /// bootstrap per process; tests build many servers).
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, labels in (prometheusName(name), labels.map { (prometheusName($0.0), $0.1) }) }
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Names as Prometheus' conventions have them: counters ending in
    /// `_total`, durations in `_seconds` (swift-metrics timers are recorded in seconds here).
    static let renamed = [
        "socle_commit_duration": "socle_commit_duration_seconds", "socle_aql_query_duration": "socle_aql_query_duration_seconds",
    ]

    /// `http.server.active_requests` → `http_server_active_requests`: the
    /// characters Prometheus names allow (`[a-zA-Z0-9_:]`), others as `_`.
    static func prometheusName(_ name: String) -> String {
        if let renamed = renamed[name] { return renamed }
        // Metrics are made at each use (swift-metrics hands out the registry's
        // own): most names are already fit, and are told so from their bytes.
        func allowed(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F || byte == 0x3A
        }
        if name.utf8.allSatisfy(allowed) { return name }
        return String(String.UnicodeScalarView(name.unicodeScalars.map { $0.isASCII && allowed(UInt8($0.value)) ? $0 : "_" }))
    }

    static let residentMemory = registry.makeGauge(
        descriptor: MetricNameDescriptor(namespace: "process", metricName: "resident_memory", unitName: "bytes", helpText: "Resident memory of the process, in bytes."))
    static let cpuSeconds = registry.makeGauge(
        descriptor: MetricNameDescriptor(
            namespace: "process", metricName: "cpu_seconds", unitName: "total", helpText: "User and system CPU time of the process, in seconds."))

    /// The process's resident memory and CPU time, read from `/proc/self` at each scrape (Linux).
    static func sampleProcess() {
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        {
            residentMemory.set(pages * Double(sysconf(Int32(_SC_PAGESIZE))))
        }
        // utime and stime, the 14th and 15th fields, after the command name in parentheses.
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                cpuSeconds.set((user + system) / Double(sysconf(Int32(_SC_CLK_TCK))))
            }
        }
    }

    /// Request and statement durations: 1 ms to 10 s.
    static let durationBuckets: [Duration] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000].map { .microseconds(Int64($0 * 1000)) }

    /// Each projection's state at the scrape: 1 when current, and how many
    /// objects a rebuild has left (0 when current).
    static func sampleProjections(_ store: Store) async {
        guard let states = try? await store.projections.states() else { return }
        for state in states {
            let labels = [("projection", state.name)]
            gauge("socle_projection_current", labels).set(Double(state.phase == .current ? 1 : 0))
            let left = state.phase == .current ? 0 : max(0, (state.total ?? state.done) - state.done)
            gauge("socle_projection_objects_left", labels).set(Double(left))
        }
    }

    /// A gauge of the registry by its full name and labels.
    static func gauge(_ name: String, _ labels: [(String, String)]) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: ""), labels: labels)
    }

    /// The database pools at the scrape (`PoolMetrics`): size, callers
    /// waiting and holding a connection (gauges), connections lent and the
    /// seconds waited for them (counters: their rates give the mean wait).
    static func samplePools() {
        for pool in PoolMetrics.snapshot {
            let labels = [("pool", pool.pool)]
            gauge("socle_database_pool_size", labels).set(Double(pool.size))
            gauge("socle_database_pool_waiting", labels).set(Double(pool.waiting))
            gauge("socle_database_pool_in_use", labels).set(Double(pool.inUse))
            gauge("socle_database_pool_acquisitions_total", labels).set(Double(pool.acquisitions))
            gauge("socle_database_pool_wait_seconds_total", labels).set(pool.waitedSeconds)
            if pool.pool == PoolMetrics.write.name {
                gauge("socle_database_write_groups_total", labels).set(Double(pool.groups))
                gauge("socle_database_write_grouped_transactions_total", labels).set(Double(pool.groupedTransactions))
                gauge("socle_database_wal_checkpoints_total", labels + [("on", "checkpointer")]).set(Double(pool.walCopies))
                gauge("socle_database_wal_checkpoints_total", labels + [("on", "writer")]).set(Double(pool.walWriterCheckpoints))
            }
        }
    }

    static func register(
        on root: RouterGroup<SocleRequestContext>, authenticated: RouterGroup<SocleRequestContext>, access: MetricsAccess, store: Store
    ) {
        let handler: @Sendable (Request, SocleRequestContext) async throws -> Response = { _, context in
            if access == .admin { try AdminRoutes.requireAdmin(context) }
            sampleProcess()
            samplePools()
            await sampleProjections(store)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        switch access {
        case .off: return
        case .public: root.get("metrics", use: handler)
        case .admin: authenticated.get("metrics", use: handler)
        }
    }
}

/// Times each request into a histogram by route template, method and
/// status (`http_server_request_duration_seconds`; its `_count` is the
/// number of requests): one cached histogram per key, straight into the
/// registry. Hummingbird's `MetricsMiddleware` (a counter, a timer and an
/// active-request gauge through swift-metrics, recorded after the body is
/// written) cost 6% of the throughput of an EHR read and 17% of `/status`
/// at 8 connections (BENCHMARKS.md §Metrics).
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext

    struct Key: Hashable {
        var route: String
        var method: HTTPRequest.Method
        var status: Int
    }

    final class Histograms: Sendable {
        let cache = Mutex<[Key: DurationHistogram]>([:])

        func histogram(_ key: Key) -> DurationHistogram {
            if let found = cache.withLock({ $0[key] }) { return found }
            let made = SocleMetrics.registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(
                    namespace: "http_server", metricName: "request_duration", unitName: "seconds", helpText: "Time to answer a request, by route template."),
                labels: [("http_route", key.route), ("http_request_method", key.method.rawValue), ("http_response_status_code", String(key.status))],
                buckets: SocleMetrics.durationBuckets)
            cache.withLock { $0[key] = made }
            return made
        }
    }

    let histograms = Histograms()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let status: Int
        do {
            let response = try await next(request, context)
            status = response.status.code
            histograms.histogram(Key(route: context.endpointPath ?? "unknown", method: request.method, status: status)).record(ContinuousClock.now - started)
            return response
        } catch {
            status = (error as? any HTTPResponseError)?.status.code ?? 500
            histograms.histogram(Key(route: context.endpointPath ?? "unknown", method: request.method, status: status)).record(ContinuousClock.now - started)
            throw error
        }
    }
}
