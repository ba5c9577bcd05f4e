import Foundation
import Hummingbird
import JSONCore
import Logging
import NIOCore
import ServiceLifecycle
import SocleTestSupport
import Synchronization
import Testing

@testable import Server

/// Traces (issue 18 §2): with `SOCLE_OTEL_ENDPOINT` set, swift-otel sends
/// OTLP over HTTP to a collector, here one in the test that keeps what it
/// receives (OTLP/JSON). A write carries the caller's `traceparent`: its
/// request span is that span's child, holds the request id, and contains
/// the validation, the commit and each SQL statement; no span names an id.
@Suite("Tracing")
struct TracingTests {
    /// An OTLP/HTTP collector on 127.0.0.1, and swift-otel bootstrapped to
    /// send to it: once per test process (the tracer is process-wide).
    final class Collector: Sendable {
        /// The spans received, by trace id (hex), read off each body as it comes.
        let traces = Mutex<[String: [JSON]]>([:])
        let boundPort = Mutex<Int?>(nil)
        var port: Int { boundPort.withLock { $0 } ?? 0 }

        static let shared = Mutex<Task<Collector, any Error>?>(nil)

        static func start() async throws -> Collector {
            let task = shared.withLock { task in
                if let task { return task }
                let made = Task { try await launch() }
                task = made
                return made
            }
            return try await task.value
        }

        /// Sampling at 0: only a request whose caller sent a sampled
        /// `traceparent` is traced, so the other tests of the process add
        /// nothing here (and their spans cannot crowd this one out of the exporter's queue).
        static func launch() async throws -> Collector {
            let collector = Collector()
            let router = Router()
            router.post("v1/traces") { request, _ -> Response in
                let document = try JSONParser.parse(String(buffer: try await request.body.collect(upTo: 64 << 20)))
                let spans = (document["resourceSpans"]?.arrayValue ?? []).flatMap { resource in
                    (resource["scopeSpans"]?.arrayValue ?? []).flatMap { $0["spans"]?.arrayValue ?? [] }
                }
                collector.traces.withLock { traces in
                    for span in spans { traces[hex(span["traceId"]) ?? "", default: []].append(span) }
                }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
            }
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in collector.boundPort.withLock { $0 = channel.localAddress?.port } }, logger: Logger(label: "collector"))
            Task { try await app.runService(gracefulShutdownSignals: []) }
            for _ in 0..<400 where collector.port == 0 { try await Task.sleep(for: .milliseconds(25)) }
            try #require(collector.port != 0, "the collector did not start")
            let exporter = try SocleTracing.bootstrap(
                SocleTracing.Exporter(endpoint: "http://127.0.0.1:\(collector.port)", wireProtocol: "http/json", sampleRatio: 0))
            Task { try await exporter.run() }
            return collector
        }

        func spans(trace: String) -> [JSON] { traces.withLock { $0[trace] ?? [] } }

        /// An id as OTLP/JSON carries it: hex (the OTLP specification) or
        /// base64 (the protobuf JSON mapping, which swift-otel writes).
        static func hex(_ id: JSON?) -> String? {
            guard let text = id?.stringValue else { return nil }
            if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
            return Data(base64Encoded: text).map { $0.map { String(format: "%02x", $0) }.joined() }
        }
    }

    static func attribute(_ span: JSON, _ key: String) -> JSON? {
        let found = span["attributes"]?.arrayValue?.first { $0["key"]?.stringValue == key }?["value"]
        return found?["stringValue"] ?? found?["intValue"]
    }

    @Test(arguments: TestEngine.available)
    func aWriteIsTracedFromTheCallerToEachStatement(engine: TestEngine) async throws {
        let collector = try await Collector.start()
        let exporter = SocleTracing.Exporter(endpoint: "http://127.0.0.1:\(collector.port)", wireProtocol: "http/json", sampleRatio: 0)
        try await TestServer.with(engine, configure: { $0.tracing = exporter }) { server in
            let ehrID = try await server.createEHR()
            let template = try await server.send(
                .post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: Corpus.bloodPressureOPT)
            #expect(template.status == .created)
            let trace = (0..<32).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
            let parent = "00f067aa0ba902b7"
            let reply = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["traceparent": "00-\(trace)-\(parent)-01"], body: Corpus.bloodPressure)
            #expect(reply.status == .created)
            let requestID = try #require(reply.headers[RequestIDMiddleware.header])

            var spans: [JSON] = []
            for _ in 0..<150 {
                spans = collector.spans(trace: trace)
                if spans.contains(where: { $0["kind"] == 2 || $0["kind"] == "SPAN_KIND_SERVER" }), spans.contains(where: { $0["name"] == "commit" }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let request = try #require(spans.first { $0["name"] == "POST /openehr/v1/ehr/{ehr_id}/composition" }, "\(spans.map { $0["name"] })")
            #expect(Collector.hex(request["parentSpanId"]) == parent)
            #expect(Self.attribute(request, "socle.request_id")?.stringValue == requestID)
            #expect(Self.attribute(request, "http.response.status_code") == "201" || Self.attribute(request, "http.response.status_code") == 201)
            let requestSpanID = try #require(request["spanId"]?.stringValue)
            let validation = try #require(spans.first { $0["name"] == "validate composition" })
            #expect(validation["parentSpanId"]?.stringValue == requestSpanID, "validation is a child of the request")
            #expect(Self.attribute(validation, "socle.template_id")?.stringValue == "ehrbase_blood_pressure_simple.de.v0")
            let commit = try #require(spans.first { $0["name"] == "commit" })
            let commitID = try #require(commit["spanId"]?.stringValue)
            let statements = spans.filter { $0["parentSpanId"]?.stringValue == commitID }
            // SQLite runs each statement alone; PostgreSQL the commit's rows as one statement of WITH queries (`SQLStatement.together`).
            let versionInsert = statements.first { Self.attribute($0, "db.query.text")?.stringValue?.contains("INSERT INTO object_version") == true }
            #expect(versionInsert?["name"] == (engine == .sqlite ? "INSERT" : "WITH"), "\(statements.map { $0["name"] })")
            #expect(statements.allSatisfy { Self.attribute($0, "db.system.name")?.stringValue == engine.rawValue })
            #expect(statements.allSatisfy { Self.attribute($0, "db.query.text")?.stringValue?.isEmpty == false })
            // Reads outside the commit (the template, the EHR) are spans of the request too.
            #expect(spans.contains { $0["name"] == "SELECT" })
            // No id of the EHR or the composition in any span.
            let text = spans.map { JSONSerializer.string($0) }.joined()
            #expect(!text.contains(ehrID), "an EHR id in a span")
        }
    }

    @Test
    func theEndpointGetsTheTracesPath() {
        #expect(SocleTracing.Exporter(endpoint: "http://c:4318").tracesURL == "http://c:4318/v1/traces")
        #expect(SocleTracing.Exporter(endpoint: "http://c:4318/").tracesURL == "http://c:4318/v1/traces")
        #expect(SocleTracing.Exporter(endpoint: "http://c:4318/v1/traces").tracesURL == "http://c:4318/v1/traces")
    }
}
