import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import JSONCore
import JWTKit
import Logging
import NIOCore
import Server

/// `socle bench access`: what the access trace and bearer tokens cost
/// (issue 16 §6). The same reads — a composition, a FHIR Observation — on
/// three servers of the same data: the trace off with HTTP Basic, the trace
/// on with HTTP Basic, the trace on with an OpenID Connect bearer token
/// (ES256, from an issuer served in this process); beside them, in the
/// same run, `GET /status`, a trivial endpoint, as the ceiling.
struct AccessBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "access", abstract: "Read throughput with the access trace on and off, Basic and bearer.")

    @Option(help: "The shared corpus folder.") var corpus = "../shared/corpus"
    @Option(help: "Requests per measurement.") var requests = 20_000
    @Option(help: "Concurrent clients.") var clients = 8
    @Option(help: "Rounds of every measurement, taken in turn.") var rounds = 3
    @Option(help: "First of the ports used on 127.0.0.1 (the issuer and three servers).") var port = 18_100

    struct Target: Sendable {
        var composition: String
        var observation: String
    }

    func run() async throws {
        let key = ES256PrivateKey()
        let issuerURL = "http://127.0.0.1:\(port)"
        let issuer = try await Self.startIssuer(key: key, url: issuerURL, port: port)
        defer { issuer.cancel() }
        let signer = JWTKeyCollection()
        await signer.add(ecdsa: key, kid: "bench")
        let token = try await signer.sign(BenchClaims(iss: issuerURL), kid: "bench")

        print("Socle \(SocleServer.version) — bench access, SQLite, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(clients) clients, \(requests) requests each")
        print("three servers of the same data, measured in turn over \(rounds) rounds; the median of each is printed\n")
        let setups: [(String, Bool, Bool)] = [("trace off, Basic", false, false), ("trace on, Basic", true, false), ("trace on, bearer", true, true)]
        var servers: [(name: String, server: BenchServer, target: Target)] = []
        for (offset, (name, traced, bearer)) in setups.enumerated() {
            let server = try await BenchServer(
                database: nil, port: port + 1 + offset, authorization: bearer ? "Bearer " + token : "Basic " + Data("bench:bench-password".utf8).base64EncodedString()
            ) { configuration in
                configuration.accessTrace.enabled = traced
                configuration.oidc = OIDCSettings(issuer: issuerURL, audience: "socle")
            }
            servers.append((name, server, try await prepare(server)))
        }
        // Rounds of every measurement in turn, the servers' order turning
        // from round to round, so that a slower stretch of the machine, or
        // the place in the round, falls on all of them alike.
        var results: [String: [Measured]] = [:]
        for round in 0..<rounds {
            results["ceiling", default: []].append(try await measure(servers[0].server, "/status"))
            for what in ["composition", "FHIR Observation"] {
                for index in servers.indices.map({ ($0 + round) % servers.count }) {
                    let (name, server, target) = servers[index]
                    results["\(what)|\(name)", default: []].append(try await measure(server, what == "composition" ? target.composition : target.observation))
                }
            }
        }
        for (_, server, _) in servers { try await server.stop() }
        printResults(results, setups: setups.map(\.0))
    }

    /// The median of each measurement, and the cost of each setup as the
    /// median of its per-round ratios to the trace off (each ratio of two
    /// measurements taken moments apart): in throughput, and in CPU time per
    /// request, which a noisy machine disturbs less.
    func printResults(_ results: [String: [Measured]], setups: [String]) {
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func median(_ key: String) -> BenchHarness.Result {
            let sorted = (results[key] ?? []).map(\.result).sorted { $0.perSecond < $1.perSecond }
            return sorted[sorted.count / 2]
        }
        func microseconds(_ duration: Duration) -> Double { Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12 }
        print(BenchHarness.Row.header + "  CPU µs/request")
        for (key, name) in [("ceiling", "GET /status (ceiling)")] + ["composition", "FHIR Observation"].flatMap({ what in setups.map { ("\(what)|\($0)", "\(what) read, \($0)") } }) {
            let cpu = median((results[key] ?? []).map { microseconds($0.cpuPerRequest) })
            print(BenchHarness.Row(name: name, clients: clients, result: median(key)).text + String(format: "  %14.0f", cpu))
        }
        print("")
        for what in ["composition", "FHIR Observation"] {
            let base = results["\(what)|\(setups[0])"] ?? []
            for name in setups.dropFirst() {
                let pairs = zip(results["\(what)|\(name)"] ?? [], base)
                let costs = pairs.map { 100 * (1 - $0.result.perSecond / $1.result.perSecond) }
                let cpu = pairs.map { 100 * (microseconds($0.cpuPerRequest) / microseconds($1.cpuPerRequest) - 1) }
                let each = costs.map { String(format: "%.1f", $0) }.joined(separator: ", ")
                print("\(what), \(name): \(String(format: "%.1f", median(costs)))% below \(setups[0]) (rounds: \(each)); CPU per request \(String(format: "%+.1f", median(cpu)))%")
            }
        }
    }

    /// Throughput, and the CPU time the process (server and clients alike) spent per request.
    struct Measured {
        var result: BenchHarness.Result
        var cpuPerRequest: Duration
    }

    func measure(_ server: BenchServer, _ path: String) async throws -> Measured {
        _ = try await BenchHarness.measure(requests: min(requests, 2_000), clients: clients) { _ in try await server.send(.GET, path, expected: 200) }
        let result = try await BenchHarness.measure(requests: requests, clients: clients) { _ in try await server.send(.GET, path, expected: 200) }
        return Measured(result: result, cpuPerRequest: result.cpu)
    }

    /// An EHR with a blood pressure composition, a Patient with an Observation.
    func prepare(_ server: BenchServer) async throws -> Target {
        let root = URL(fileURLWithPath: corpus).appendingPathComponent("openehr")
        let template = root.appendingPathComponent("templates/valid/aql_data_load/ehrbase_blood_pressure_simple.de.v0.opt")
        try await server.send(.POST, "/openehr/v1/definition/template/adl1.4", body: Array(try Data(contentsOf: template)), contentType: "application/xml", expected: 201)
        let ehr = try JSONParser.parse(Array(buffer: try await server.send(.POST, "/openehr/v1/ehr", body: nil, expected: 201, prefer: "return=representation")))
        let ehrID = ehr["ehr_id"]?["value"]?.stringValue ?? ""
        let composition = try CompositionBench.withoutUID(root.appendingPathComponent("compositions/canonical_json/aql_data_load/ehrbase_blood_pressure_simple.de.v0.json"))
        let created = try JSONParser.parse(Array(buffer: try await server.send(.POST, "/openehr/v1/ehr/\(ehrID)/composition", body: composition, expected: 201, prefer: "return=representation")))
        let uid = created["uid"]?["value"]?.stringValue ?? ""
        let patient = try JSONParser.parse(Array(buffer: try await server.send(.POST, "/fhir/Patient", body: Array(#"{"resourceType":"Patient","name":[{"family":"Bench"}]}"#.utf8), expected: 201)))
        let patientID = patient["id"]?.stringValue ?? ""
        let observation = try JSONParser.parse(Array(buffer: try await server.send(.POST, "/fhir/Observation", body: FHIRServerBench.observation(patient: patientID, value: 72), expected: 201)))
        return Target(composition: "/openehr/v1/ehr/\(ehrID)/composition/\(uid)", observation: "/fhir/Observation/\(observation["id"]?.stringValue ?? "")")
    }

    /// A discovery document and a JWKS with the one key, on `port`.
    static func startIssuer(key: ES256PrivateKey, url: String, port: Int) async throws -> Task<Void, any Error> {
        let (x, y) = key.publicKey.parameters ?? ("", "")
        let jwks = JSONSerializer.string(["keys": [["kty": "EC", "crv": "P-256", "kid": "bench", "alg": "ES256", "x": .string(x), "y": .string(y)]]])
        let discovery = JSONSerializer.string(["issuer": .string(url), "jwks_uri": .string(url + "/jwks")])
        let router = Router()
        router.get(".well-known/openid-configuration") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: discovery))) }
        router.get("jwks") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: jwks))) }
        var logger = Logger(label: "socle.bench.issuer")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let task = Task { try await app.runService() }
        try await Task.sleep(for: .milliseconds(300))
        return task
    }
}

/// The claims of the bench's bearer token: a clinician, for an hour.
struct BenchClaims: JWTPayload {
    var iss: String
    var sub = "bench-clinician"
    var aud = "socle"
    var exp = Int(Date().timeIntervalSince1970) + 3600
    var roles = ["clinician"]

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
