import HTTPTypes
import Hummingbird
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Traces through OpenTelemetry (swift-otel, OTLP over HTTP), off unless
/// `SOCLE_OTEL_ENDPOINT` is set: a server span per request (named by the
/// route template, with the request id), and inside it the spans the
/// services and the store make: composition validation, the commit, AQL,
/// and every SQL statement. A caller's W3C `traceparent` makes the request
/// span its child.
public enum SocleTracing {
    /// Where and how spans are sent.
    public struct Exporter: Sendable, Equatable {
        /// The collector's base URL (`http://collector:4318`); spans go to `/v1/traces` below it.
        public var endpoint: String
        /// `http/protobuf` (the default of OTLP) or `http/json`.
        public var wireProtocol: String
        /// The share of requests traced that come without a sampled
        /// `traceparent` (one that comes with one is traced, as its caller decided).
        public var sampleRatio: Double

        public init(endpoint: String, wireProtocol: String = "http/protobuf", sampleRatio: Double = 1) {
            self.endpoint = endpoint
            self.wireProtocol = wireProtocol
            self.sampleRatio = sampleRatio
        }

        public var tracesURL: String {
            endpoint.hasSuffix("/v1/traces") ? endpoint : (endpoint.hasSuffix("/") ? endpoint + "v1/traces" : endpoint + "/v1/traces")
        }
    }

    /// Log lines carry the trace and span ids of the request they were written in.
    public static var loggingMetadata: Logger.MetadataProvider { OTel.makeLoggingMetadataProvider() }

    /// Makes the exporter and bootstraps it as the process's tracer (once per
    /// process: swift-distributed-tracing takes one bootstrap); the service
    /// returned sends the spans and must run beside the server.
    public static func bootstrap(_ exporter: Exporter) throws -> any Service {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "socle"
        configuration.resourceAttributes = ["service.version": SocleServer.version]
        configuration.propagators = [.traceContext]
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.otlpExporter.endpoint = exporter.tracesURL
        configuration.traces.otlpExporter.protocol = exporter.wireProtocol == "http/json" ? .httpJSON : .httpProtobuf
        configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: min(1, max(0, exporter.sampleRatio))) ?? .parentBasedAlwaysOn
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return backend.service
    }
}

/// The server span of each request: named `METHOD /route/{template}` (no
/// ids), its parent the caller's `traceparent` if any, with the request id,
/// the status, and an error status for a 5xx. Placed after the request id
/// and before the error mapping, so it sees the status the client gets.
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext

    struct HeaderExtractor: Extractor {
        func extract(key: String, from headers: HTTPFields) -> String? {
            HTTPField.Name(key).flatMap { headers[$0] }
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var parent = InstrumentationContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HeaderExtractor())
        let name = "\(request.method) \(context.endpointPath ?? "unmatched")"
        return try await withSpan(name, context: parent, ofKind: .server) { span in
            if span.isRecording {
                span.attributes["http.request.method"] = request.method.rawValue
                span.attributes["http.route"] = context.endpointPath ?? "unmatched"
                if let id = context.logger[metadataKey: "socle.request_id"] { span.attributes["socle.request_id"] = "\(id)" }
            }
            let response = try await next(request, context)
            span.attributes["http.response.status_code"] = response.status.code
            if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            return response
        }
    }
}
