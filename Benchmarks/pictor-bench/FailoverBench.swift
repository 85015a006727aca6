import App
import AsyncHTTPClient
import Domain
import Fluent
import Foundation
import Persistence
import Providers
import SQLKit
import Vapor

/// One model's server refuses connections while another model works: the working model's
/// throughput should not suffer (target: within 10 % of the same run without the failing model).
/// Before issue 22, each call to the stopped server sat 30 s in retried connections and the
/// workers that held them stopped the whole queue.
func failingNeighbourBenchmarks() async throws {
    let engines = benchEngines()
    let client = benchClient()
    print("\n## A model whose server is down beside one that works\n")
    print("| measure | engine | result |")
    print("| --- | --- | --- |")
    for (engine, url) in engines {
        // A remote-like model (100 ms a call) and one whose server refuses every connection.
        let catalog = ModelCatalog(entries: [
            .init(
                id: "scripted", provider: ScriptedProvider(id: "scripted", otherwise: [.wait(.milliseconds(100)), .deliver(side: 64)]),
                pricePerImage: 1, timeout: .seconds(30), maxAttempts: 3, styles: []),
            .init(
                id: "down",
                provider: OpenAIImagesProvider(
                    id: "down", displayName: "Stopped server",
                    settings: .init(
                        baseURL: URL(string: "http://127.0.0.1:1/v1")!, apiKey: "k", model: "m",
                        sizes: [ImageSize(width: 64, height: 64)], maxCount: 1, timeout: .seconds(30))),
                pricePerImage: 1, timeout: .seconds(30), maxAttempts: 3, styles: []),
        ])
        let service = try await BenchService.start(database: url, models: catalog)
        let count = 200
        let body: @Sendable (Int) -> String = { #"{"model":"scripted","prompt":"neighbour \#($0)","size":"64x64"}"# }
        _ = try await runBatch(service, count: 50, concurrency: 16, body: body, client: client)  // warm-up
        // Alternating rounds; before each round with the failing model, 40 of its generations are
        // queued first. After it, they are ended, so that the next clean round is clean.
        var clean: [Double] = []
        var failing: [Double] = []
        for _ in 0..<3 {
            clean.append(Double(count) / (try await scriptedBatch(service, count: count, body: body, client: client)))
            for index in 0..<40 {
                _ = try await service.submit(#"{"model":"down","prompt":"down \#(index)","size":"64x64"}"#, client: client)
            }
            failing.append(Double(count) / (try await scriptedBatch(service, count: count, body: body, client: client)))
            try await sqlDatabase(service.app.db).raw(
                """
                UPDATE generations SET state = 'failed' WHERE model = 'down' AND state IN ('queued', 'running')
                """
            ).run()
            try await sqlDatabase(service.app.db).raw("UPDATE jobs SET state = 'dead' WHERE state IN ('queued', 'running')").run()
        }
        try await service.stop()
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        let (withDown, without) = (median(failing), median(clean))
        print(
            String(
                format:
                    "| %d generations of a 100 ms model (16 clients, %d workers), 40 generations of a model whose server refuses connections queued first / none; median of 3 alternating rounds | %@ | %.1f / %.1f gen/s → %.0f%% (rounds %@ / %@) |",
                count, service.workers, engine, withDown, without, (withDown / without - 1) * 100,
                failing.map { String(format: "%.1f", $0) }.joined(separator: ", "), clean.map { String(format: "%.1f", $0) }.joined(separator: ", ")))
    }
    try await client.shutdown()
}

/// Submits `count` generations of the working model and waits until they have all succeeded
/// (the failing model's stay queued, waiting for their breaker); returns the seconds it took.
private func scriptedBatch(_ service: BenchService, count: Int, body: @escaping @Sendable (Int) -> String, client: HTTPClient) async throws -> Double
{
    let before = try await service.succeeded()
    let start = ContinuousClock.now
    try await submitAll(service, count: count, concurrency: 16, body: body, client: client)
    let deadline = ContinuousClock.now + .seconds(300)
    while try await service.succeeded() - before < count {
        guard ContinuousClock.now < deadline else { throw BenchError("the working model's generations did not all succeed within 300 s") }
        try await Task.sleep(for: .milliseconds(20))
    }
    return seconds(since: start)
}
