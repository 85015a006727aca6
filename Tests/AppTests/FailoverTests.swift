@testable import App
import Domain
import Fluent
import Foundation
import Persistence
import Providers
import Testing
import Vapor

@Suite struct FailoverTests {
    /// "primary" fails over to "backup"; both make 64×64.
    static func catalog(primary: ScriptedProvider, backup: ScriptedProvider) -> ModelCatalog {
        ModelCatalog(entries: [
            .init(id: "primary", provider: primary, pricePerImage: 2, timeout: .seconds(1), maxAttempts: 2, styles: [], fallback: "backup"),
            .init(id: "backup", provider: backup, pricePerImage: 2, timeout: .seconds(5), maxAttempts: 2, styles: []),
        ])
    }

    @Test(arguments: [ScriptedProvider.Step.fail(.retryable("HTTP 500")), .hang])
    func aFailingOrHangingProviderFailsOverInTheSameAttempt(_ failure: ScriptedProvider.Step) async throws {
        let primary = ScriptedProvider(id: "primary", otherwise: [failure])
        let backup = ScriptedProvider(id: "backup")
        try await withPictor { app in
            let credits = RecordingCredits()
            app.pictor = app.pictor.with(models: Self.catalog(primary: primary, backup: backup), credits: credits)
            let browser = try await signedInForAPI(app, email: "failover@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"model":"primary","prompt":"a cat","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.status == "succeeded" && done.images.count == 1 && done.creditsCharged == 2)
                let row = try #require(try await GenerationModel.find(created.id, on: app.db))
                #expect(row.modelUsed == "backup")
                // People see what made the images, in the API and on the page.
                let names = (app.pictor.models.entry("backup")!.displayName, app.pictor.models.entry("primary")!.displayName)
                #expect(done.modelName == "\(names.0), standing in for \(names.1)", "\(done.modelName)")
                let page = try await browser.get("/generations/\(created.id.uuidString.lowercased())")
                #expect(page.text.contains("<dd>\(names.0), standing in for \(names.1)</dd>"), "\(page.text.prefix(0))")
                let jobID = try #require(row.jobID)
                let job = try #require(try await JobQueue.snapshot(jobID, on: app.db))
                #expect(job.attempts == 1)  // no retry was needed
                #expect(credits.settlements(of: created.id).map(\.captured) == [2])
            }
            let calls = (await primary.received().count, await backup.received().count)
            #expect(calls == (1, 1))
        }
    }

    @Test func repeatedFailuresOpenTheBreakerAndTheProviderIsSkipped() async throws {
        let primary = ScriptedProvider(id: "primary", otherwise: [.fail(.retryable("HTTP 503"))])
        let backup = ScriptedProvider(id: "backup")
        try await withPictor { app in
            app.pictor = app.pictor.with(
                models: Self.catalog(primary: primary, backup: backup), providerHealth: ProviderHealth(threshold: 3, cooldown: 600))
            let browser = try await signedInForAPI(app, email: "breaker@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                for n in 0..<6 {
                    let created: GenerationView = try await browser.generate(#"{"model":"primary","prompt":"cat \#(n)","size":"64x64"}"#).decoded()
                    #expect(try await browser.finished(created.id).status == "succeeded")
                }
            }
            // Three failures opened the breaker; the last three went straight to the backup.
            let calls = (await primary.received().count, await backup.received().count)
            #expect(calls == (3, 6))
            let rows = app.pictor.providerHealth.rows(for: ["primary", "backup"])
            #expect(rows[0].state == .open && rows[0].failures == 3 && rows[1].successes == 6)

            let admin = try await signedInForAPI(app, email: "ops@example.com")
            try await sqlDatabase(app.db).raw("UPDATE users SET role = 'admin' WHERE email = 'ops@example.com'").run()
            let console = try await admin.get("/admin")
            #expect(console.text.contains("Image providers"))
            #expect(console.text.contains("<td>open</td>") && console.text.contains("100% of 6"))
        }
    }

    /// The breaker's trial call is refused (a permanent answer, which says nothing about the
    /// provider's health): the next generation tries the model again instead of finding its
    /// breaker half-open for good and going to the backup.
    @Test func aRefusedTrialCallLetsTheNextGenerationTryTheModel() async throws {
        let primary = ScriptedProvider(id: "primary", calls: [
            [.fail(.retryable("HTTP 503"))], [.fail(.permanent("the prompt was refused"))],
        ])
        let backup = ScriptedProvider(id: "backup")
        try await withPictor { app in
            app.pictor = app.pictor.with(
                models: Self.catalog(primary: primary, backup: backup), providerHealth: ProviderHealth(threshold: 1, cooldown: 0.2))
            let browser = try await signedInForAPI(app, email: "trial@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                var used: [String?] = []
                for n in 0..<3 {
                    if n > 0 { try await Task.sleep(for: .milliseconds(300)) }  // past the cooldown
                    let created: GenerationView = try await browser.generate(#"{"model":"primary","prompt":"cat \#(n)","size":"64x64"}"#).decoded()
                    let done = try await browser.finished(created.id)
                    used.append(done.status == "succeeded" ? try await GenerationModel.find(created.id, on: app.db)?.modelUsed : done.status)
                }
                // The failure opened the breaker (backup); the trial was refused (failed, free);
                // the next generation is a trial again and the primary makes it.
                #expect(used == ["backup", "failed", "primary"], "\(used)")
            }
            #expect(app.pictor.providerHealth.rows(for: ["primary"])[0].state == .closed)
        }
    }

    /// A call admitted while the breaker was closed and abandoned while another call is the
    /// trial leaves that trial alone: no second trial goes out beside it.
    @Test func onlyTheTrialsOwnAbandonmentReopensTheBreaker() {
        let health = ProviderHealth(threshold: 1, cooldown: 10)
        let start = Date()
        let early = health.admit("m", now: start)
        health.recordFailure("m", now: start)
        let trial = health.admit("m", now: start.addingTimeInterval(11))
        #expect(early == .allowed && trial == .trial)
        health.recordAbandoned("m", admission: early)
        #expect(health.admit("m", now: start.addingTimeInterval(12)) == .refused, "a second trial went out")
        health.recordAbandoned("m", admission: trial)
        #expect(health.admit("m", now: start.addingTimeInterval(13)) == .trial)
    }

    @Test func withoutAFallbackTheErrorIsRetriedThenFailsFree() async throws {
        let lonely = ScriptedProvider(id: "lonely", otherwise: [.fail(.retryable("HTTP 502"))])
        try await withPictor { app in
            app.pictor = app.pictor.with(models: ModelCatalog(entries: [
                .init(id: "lonely", provider: lonely, pricePerImage: 1, timeout: .seconds(2), maxAttempts: 2, styles: []),
            ]))
            let browser = try await signedInForAPI(app, email: "alone@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"prompt":"a cat","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.status == "failed" && done.creditsCharged == 0 && done.reason?.contains("HTTP 502") == true)
            }
            #expect(await lonely.received().count == 2)
        }
    }

    /// A worker told to stop while it was still preparing the call (reading the generation,
    /// recording the disclosure) hands the job back without calling the provider: the next
    /// worker would call it again, and the person would pay twice for one picture.
    @Test func aWorkerStoppedBeforeTheCallDoesNotCallTheProvider() async throws {
        let remote = ScriptedProvider(id: "remote")
        try await withPictor { app in
            app.pictor = app.pictor.with(models: remoteCatalog(remote, maxAttempts: 2))
            let browser = try await signedInForAPI(app, email: "stopped@example.com")
            let created: GenerationView = try await browser.generate(#"{"model":"remote","prompt":"a cat","size":"64x64"}"#).decoded()
            var claimed: ClaimedJob?
            repeat {  // signing up queued mail before it
                claimed = try await JobQueue.claim(owner: "w", leaseFor: 60, now: Date(), on: app.db)
            } while claimed != nil && claimed?.kind != GenerationService.jobKind
            let job = try #require(claimed)
            let context = JobContext(application: app, logger: app.logger, job: job, owner: "w", completion: CompletionMark())
            let outcome = await Task {
                withUnsafeCurrentTask { $0?.cancel() }  // the stop arrives before the call starts
                try await GenerationJobHandler().run(job, context: context)
            }.result
            #expect(throws: CancellationError.self) { try outcome.get() }
            try await Task.sleep(for: .milliseconds(200))  // a call already on its way would have reached the provider
            #expect(await remote.received().isEmpty)
            #expect(try await GenerationModel.find(created.id, on: app.db)?.state == "running")  // the runner hands it back
        }
    }
}
