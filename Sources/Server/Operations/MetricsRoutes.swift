import Foundation
import Hummingbird
import Metrics
import Prometheus

/// Who may read `/metrics` (`SOCLE_METRICS`): users with the admin role,
/// as the admin API (the default), anyone (a Prometheus on a private
/// network), or no one (the endpoint and the request metrics off).
public enum MetricsAccess: String, Sendable, CaseIterable {
    case admin, `public`, off
}

/// The process's metrics in the Prometheus text format (swift-metrics
/// through swift-prometheus): Hummingbird's request metrics by route
/// template, method and status (`http_server_requests_total`,
/// `http_server_request_duration_seconds`, `http_server_active_requests`)
/// and Socle's own (`socle_*`). Labels carry route templates, never a path's ids.
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
        "hb.requests": "http_server_requests_total", "hb.request.errors": "http_server_request_errors_total",
        "http.server.request.duration": "http_server_request_duration_seconds", "socle_commit_duration": "socle_commit_duration_seconds",
        "socle_aql_query_duration": "socle_aql_query_duration_seconds",
    ]

    /// `http.server.active_requests` → `http_server_active_requests`: the
    /// characters Prometheus names allow (`[a-zA-Z0-9_:]`), others as `_`.
    static func prometheusName(_ name: String) -> String {
        if let renamed = renamed[name] { return renamed }
        return String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") ? $0 : "_" })
    }

    static let residentMemory = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory of the process, in bytes.")
    static let cpuSeconds = registry.makeGauge(name: "process_cpu_seconds_total", help: "User and system CPU time of the process, in seconds.")

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

    static func register(on root: RouterGroup<SocleRequestContext>, authenticated: RouterGroup<SocleRequestContext>, access: MetricsAccess) {
        let handler: @Sendable (Request, SocleRequestContext) async throws -> Response = { _, context in
            if access == .admin { try AdminRoutes.requireAdmin(context) }
            sampleProcess()
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
