import Fluent
import Foundation
import Persistence
import Storage
import Testing
import Vapor

@testable import App

/// A real `pictor worker` process killed with SIGKILL in the middle of a generation:
/// after a restart the generation finishes exactly once.
@Suite struct WorkerCrashTests {
    /// The `pictor` binary `swift build` made next to the test bundle.
    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/pictor")
    }

    /// `pictor worker` on the test's database and data folder; `under` runs it inside another
    /// command (its path, then its arguments), e.g. strace.
    static func startWorker(_ config: AppConfig, environment extra: [String: String], log: String, under wrapper: [String] = []) throws -> Process {
        let process = Process()
        if let command = wrapper.first {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = Array(wrapper.dropFirst()) + [binary.path, "worker"]
        } else {
            process.executableURL = binary
            process.arguments = ["worker"]
        }
        process.currentDirectoryURL = URL(fileURLWithPath: config.dataDirectory)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PICTOR_") }
        environment["DATA_DIR"] = config.dataDirectory
        environment["LOG_LEVEL"] = "info"
        switch config.database {
        case .sqlite(let path): environment["DATABASE_URL"] = "sqlite://" + path
        case .postgres(let url): environment["DATABASE_URL"] = url
        }
        environment.merge(extra) { $1 }
        process.environment = environment
        let logFile = URL(fileURLWithPath: config.dataDirectory).appendingPathComponent(log)
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    static func log(_ config: AppConfig, _ name: String) -> String {
        (try? String(contentsOfFile: config.dataDirectory + "/" + name, encoding: .utf8)) ?? ""
    }

    @Test func aKilledWorkersGenerationFinishesOnceAfterRestart() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build the pictor binary first (swift build)")
        try await withPictor { app in
            let config = app.pictor.config
            let browser = try await signedInForAPI(app, email: "crash@example.com")
            let created: GenerationView = try await browser.generate(#"{"prompt":"a storm over the harbour","size":"512x512","count":2}"#).decoded()
            let generationID = created.id

            // First worker: slowed down so that it is surely mid-job when it dies.
            let doomed = try Self.startWorker(
                config,
                environment: [
                    "JOB_WORKERS": "1", "JOB_LEASE_SECONDS": "3", "BUILTIN_ENGINE_DELAY_MS": "60000",
                ], log: "worker-1.log")
            let started = try await eventually(within: 60) { try await browser.generation(generationID).status == "running" }
            #expect(started, "the worker never started the job: \(Self.log(config, "worker-1.log").suffix(2000))")
            kill(doomed.processIdentifier, SIGKILL)
            doomed.waitUntilExit()
            #expect(doomed.terminationReason == .uncaughtSignal && doomed.terminationStatus == SIGKILL)
            #expect(try await browser.generation(generationID).status == "running")
            #expect(try await GenerationImageModel.query(on: app.db).count() == 0)

            // Second worker: picks the job up once the dead worker's lease has expired.
            let survivor = try Self.startWorker(config, environment: ["JOB_WORKERS": "2", "JOB_LEASE_SECONDS": "3"], log: "worker-2.log")
            defer { if survivor.isRunning { kill(survivor.processIdentifier, SIGKILL) } }
            let finished = try await eventually(within: 60) { try await browser.generation(generationID).status == "succeeded" }
            #expect(finished, "not finished after restart: \(Self.log(config, "worker-2.log").suffix(2000))")

            let done = try await browser.generation(generationID)
            #expect(done.images.count == 2 && done.creditsCharged == 2)
            #expect(try await GenerationImageModel.query(on: app.db).filter(\.$generationID == generationID).count() == 2)
            let jobID = try #require(try await GenerationModel.find(generationID, on: app.db)?.jobID)
            let job = try #require(try await JobQueue.snapshot(jobID, on: app.db))
            #expect(job.state == .succeeded && job.attempts == 2)
            // Exactly the delivered images' bytes are stored: two images and two thumbnails.
            #expect(try await app.pictor.blobs.list(prefix: "users/").count == 4)
            for image in done.images {
                #expect(try await browser.api(.GET, image.url).status == .ok)
            }

            // SIGTERM stops the survivor cleanly.
            kill(survivor.processIdentifier, SIGTERM)
            survivor.waitUntilExit()
            #expect(survivor.terminationReason == .exit && survivor.terminationStatus == 0, "\(Self.log(config, "worker-2.log").suffix(1000))")
        }
    }

    /// SIGTERM in the middle of a generation that will not finish within the grace period:
    /// the worker hands the job back and exits cleanly, and the next worker makes it, with the
    /// interrupted run not counted as an attempt.
    @Test func aStoppedWorkerHandsItsGenerationBack() async throws {
        try await withPictor { app in
            let config = app.pictor.config
            let browser = try await signedInForAPI(app, email: "handback@example.com")
            let created: GenerationView = try await browser.generate(#"{"prompt":"a calm sea","size":"512x512"}"#).decoded()
            let stopping = try Self.startWorker(
                config,
                environment: [
                    "JOB_WORKERS": "1", "BUILTIN_ENGINE_DELAY_MS": "60000", "JOB_SHUTDOWN_GRACE_SECONDS": "0",
                ], log: "worker-1.log")
            defer { if stopping.isRunning { kill(stopping.processIdentifier, SIGKILL) } }
            let started = try await eventually(within: 60) { try await browser.generation(created.id).status == "running" }
            #expect(started, "the worker never started the job: \(Self.log(config, "worker-1.log").suffix(2000))")
            let signalled = Date()
            // A worker that ignored SIGTERM would otherwise hold this test (and a thread) forever.
            let watchdog = Task {
                try await Task.sleep(for: .seconds(60))
                kill(stopping.processIdentifier, SIGKILL)
            }
            defer { watchdog.cancel() }
            kill(stopping.processIdentifier, SIGTERM)
            stopping.waitUntilExit()
            #expect(stopping.terminationReason == .exit && stopping.terminationStatus == 0, "\(Self.log(config, "worker-1.log").suffix(1000))")
            #expect(Date().timeIntervalSince(signalled) < 10, "JOB_SHUTDOWN_GRACE_SECONDS=0 hands back at once")
            let jobID = try #require(try await GenerationModel.find(created.id, on: app.db)?.jobID)
            let handedBack = try #require(try await JobQueue.snapshot(jobID, on: app.db))
            #expect(handedBack.state == .queued && handedBack.attempts == 0 && handedBack.leaseOwner == nil)

            let next = try Self.startWorker(config, environment: ["JOB_WORKERS": "1"], log: "worker-2.log")
            defer { if next.isRunning { kill(next.processIdentifier, SIGKILL) } }
            let finished = try await eventually(within: 60) { try await browser.generation(created.id).status == "succeeded" }
            #expect(finished, "not finished by the next worker: \(Self.log(config, "worker-2.log").suffix(2000))")
            #expect(try await JobQueue.snapshot(jobID, on: app.db)?.attempts == 1)
            kill(next.processIdentifier, SIGTERM)
            next.waitUntilExit()
        }
    }
}
