import Foundation
import OpenEHR

/// An external load generator for the benchmarks: `wrk` (C, epoll), when it is
/// on the PATH. The in-process HTTP client spends about as much CPU per request
/// as a trivial endpoint does, on the same two cores as the server it measures;
/// `wrk` spends a fraction of that, so its rates are nearer what the server alone
/// can do. Runs are bounded in time and aim at 127.0.0.1 only.
enum WrkLoad {
    /// The `wrk` executable on the PATH, if any.
    static var executable: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("wrk") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// POSTs `body` to `paths` in turn (each of `connections` keep-alive connections
    /// on two threads) for `seconds`, and measures this process's CPU time over the
    /// run: the server's alone, since the load is another process. Throws if any
    /// answer is not a success, or a connection failed.
    /// The wait is on a thread of its own: the server's requests need every thread
    /// of Swift's cooperative pool.
    static func post(base: String, paths: [String], body: [UInt8], headers: [(String, String)], connections: Int, seconds: Int) async throws
        -> BenchHarness.Result
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try run(base: base, paths: paths, body: body, headers: headers, connections: connections, seconds: seconds) })
            }.start()
        }
    }

    static func run(base: String, paths: [String], body: [UInt8], headers: [(String, String)], connections: Int, seconds: Int) throws -> BenchHarness.Result {
        guard let wrk = executable else { throw BenchError("wrk is not on the PATH") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-wrk-\(UUIDText.random())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bodyFile = folder.appendingPathComponent("body")
        try Data(body).write(to: bodyFile)
        let script = folder.appendingPathComponent("post.lua")
        try Data(Self.script(paths: paths, bodyFile: bodyFile.path, headers: headers).utf8).write(to: script)

        let process = Process()
        process.executableURL = wrk
        process.arguments = ["-t2", "-c\(connections)", "-d\(seconds)s", "--timeout", "30s", "-s", script.path, base]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let cpuBefore = BenchHarness.cpuTime()
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let cpu = BenchHarness.cpuTime() - cpuBefore
        return try result(of: text, status: process.terminationStatus, cpu: cpu)
    }

    /// The figures the script's `done` prints on one line: requests, duration, p50 and
    /// p99 (µs), answers that are not a success, failed connections.
    static func result(of output: String, status: Int32, cpu: Duration) throws -> BenchHarness.Result {
        guard status == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("socle-wrk ") }) else {
            throw BenchError("wrk failed (\(status)): \(output.suffix(400))")
        }
        let numbers = line.split(separator: " ").dropFirst().compactMap { Int64($0) }
        guard numbers.count == 6, numbers[0] > 0 else { throw BenchError("wrk printed \(line)") }
        guard numbers[4] == 0, numbers[5] == 0 else {
            throw BenchError("wrk: \(numbers[4]) unexpected answers and \(numbers[5]) failed connections of \(numbers[0]) requests")
        }
        return BenchHarness.Result(
            perSecond: Double(numbers[0]) / (Double(numbers[1]) / 1e6), p50: .microseconds(numbers[2]), p99: .microseconds(numbers[3]),
            cpu: cpu / Int(numbers[0]), operations: Int(numbers[0]))
    }

    /// A wrk script that sends the body to each path in turn (each thread from its own
    /// place in the list). wrk counts the answers that are not 2xx or 3xx itself.
    static func script(paths: [String], bodyFile: String, headers: [(String, String)]) -> String {
        let quoted = paths.map { "\"\($0)\"" }.joined(separator: ", ")
        let headerLines = headers.map { "wrk.headers[\"\($0.0)\"] = \"\($0.1)\"" }.joined(separator: "\n")
        return """
            local file = io.open("\(bodyFile)", "rb")
            wrk.method = "POST"
            wrk.body = file:read("*a")
            file:close()
            \(headerLines)
            local paths = { \(quoted) }
            local counter = 0
            local threads = {}
            function setup(thread)
              thread:set("offset", #threads * 7)
              table.insert(threads, thread)
            end
            function init(args)
              counter = offset or 0
            end
            function request()
              counter = counter + 1
              return wrk.format(nil, paths[(counter % #paths) + 1])
            end
            function done(summary, latency, requests)
              local failed = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
              io.write(string.format("socle-wrk %d %d %d %d %d %d\\n", summary.requests, summary.duration,
                latency:percentile(50), latency:percentile(99), summary.errors.status, failed))
            end
            """
    }
}
