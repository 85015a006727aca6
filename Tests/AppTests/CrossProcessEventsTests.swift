@testable import App
import Foundation
import Persistence
import Testing
import Vapor

/// On PostgreSQL, a generation made by another process (a real `pictor worker`) reaches this
/// process's event streams through `LISTEN/NOTIFY`, not only through their periodic re-read.
@Suite struct CrossProcessEventsTests {
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func anotherProcesssChangesWakeThisProcesssStreams() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: WorkerCrashTests.binary.path), "build the pictor binary first (swift build)")
        try await withPictor { app in
            // `pictor serve` starts the listener at boot; the test app starts it itself.
            let listener = GenerationNotifications.Listener()
            try await listener.didBootAsync(app)
            // The listener connects in the background: wait until a notification gets through.
            let probe = UUID()
            let listening = try await eventually(within: 20) {
                async let woken: Bool = app.pictor.generationEvents.follow(probe) { signal in
                    let start = ContinuousClock.now
                    await signal.wait(upTo: .milliseconds(500))
                    return ContinuousClock.now - start < .milliseconds(450)
                }
                try await Task.sleep(for: .milliseconds(50))
                try await GenerationNotifications.send(probe, on: app.db)
                return await woken
            }
            #expect(listening, "the listener never received a notification")
            let browser = try await signedInForAPI(app, email: "two-processes@example.com")
            let created: GenerationView = try await browser.generate(#"{"prompt":"a lantern on a pier","size":"512x512"}"#).decoded()
            let id = created.id

            // Nothing in this process touches the generation: only a notification from the
            // worker process can end this wait before its two minutes are up.
            let woken = Task {
                let start = ContinuousClock.now
                await app.pictor.generationEvents.follow(id) { await $0.wait(upTo: .seconds(120)) }
                return ContinuousClock.now - start
            }
            let stream = Task { try await browser.api(.GET, "/generations/\(id)/events", headers: ["Accept": "text/event-stream"]) }
            #expect(try await eventually { app.pictor.generationEvents.followers(of: id) == 2 })

            let worker = try WorkerCrashTests.startWorker(app.pictor.config, environment: [
                "JOB_WORKERS": "1", "BUILTIN_ENGINE_DELAY_MS": "4000",
            ], log: "worker.log")
            defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }

            let waited = await woken.value
            #expect(waited < .seconds(60), "no notification from the worker process: \(WorkerCrashTests.log(app.pictor.config, "worker.log").suffix(2000))")

            let response = try await stream.value
            let events = response.body.string.components(separatedBy: "\n\n").filter { $0.hasPrefix("event: ") }
            let names = events.map { String($0.prefix { $0 != "\n" }.dropFirst("event: ".count)) }
            #expect(names.first == "queued" && names.contains("running") && names.last == "succeeded", "\(names)")
            #expect(events.last?.contains(#""thumbnailUrl":"/images/"#) == true)

            kill(worker.processIdentifier, SIGTERM)
            worker.waitUntilExit()
            await listener.shutdownAsync(app)
        }
    }
}
