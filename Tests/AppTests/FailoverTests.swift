import Domain
import Fluent
import Foundation
import Persistence
import Providers
import Testing
import Vapor

@testable import App

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
        let primary = ScriptedProvider(
            id: "primary",
            calls: [
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
        let early = health.reserve("m", now: start)
        health.recordFailure("m", now: start)
        let trial = health.reserve("m", now: start.addingTimeInterval(11))
        #expect(early == .granted(.allowed) && trial == .granted(.trial))
        health.recordAbandoned("m", admission: .allowed)
        health.release("m")
        guard case .resting = health.reserve("m", now: start.addingTimeInterval(12)) else {
            Issue.record("a second trial went out")
            return
        }
        health.recordAbandoned("m", admission: .trial)
        health.release("m")
        #expect(health.reserve("m", now: start.addingTimeInterval(13)) == .granted(.trial))
    }

    /// A breaker's refusal is not an attempt: the job waits for the breaker's trial time and
    /// then makes its call. (Before, a retry that met the open breaker used up the job's last
    /// attempt and the generation failed, "resting after repeated failures", while the server
    /// was already back.)
    @Test func aJobWaitsForTheBreakerInsteadOfSpendingItsAttempts() async throws {
        let lonely = ScriptedProvider(id: "lonely", calls: [[.fail(.retryable("HTTP 503"))]])
        try await withPictor { app in
            app.pictor = app.pictor.with(
                models: ModelCatalog(entries: [
                    .init(id: "lonely", provider: lonely, pricePerImage: 1, timeout: .seconds(5), maxAttempts: 2, styles: [])
                ]),
                providerHealth: ProviderHealth(threshold: 1, cooldown: 1))
            let browser = try await signedInForAPI(app, email: "patient@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"prompt":"a cat","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.status == "succeeded", "\(done.status): \(done.reason ?? "")")
                let jobID = try #require(try await GenerationModel.find(created.id, on: app.db)?.jobID)
                let job = try #require(try await JobQueue.snapshot(jobID, on: app.db))
                #expect(job.attempts == 2, "the wait for the breaker counted as an attempt")
            }
            #expect(await lonely.received().count == 2)
        }
    }

    /// A generation whose model stays unavailable ends, free, at its deadline after submission.
    @Test func aGenerationWaitsForItsModelOnlyUntilItsDeadline() async throws {
        let lonely = ScriptedProvider(id: "lonely")
        try await withPictor({ $0.generationDeadlineSeconds = 60 }) { app in
            let health = ProviderHealth(threshold: 1, cooldown: 3600)
            health.recordFailure("lonely", now: Date())
            app.pictor = app.pictor.with(
                models: ModelCatalog(entries: [
                    .init(id: "lonely", provider: lonely, pricePerImage: 1, timeout: .seconds(5), maxAttempts: 3, styles: [])
                ]),
                providerHealth: health)
            let browser = try await signedInForAPI(app, email: "deadline@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"prompt":"a cat","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.status == "failed" && done.creditsCharged == 0)
                #expect(done.reason == "The image model was not available for 1 minute. You were not charged.", "\(done.reason ?? "")")
            }
            #expect(await lonely.received().isEmpty)
        }
    }

    /// A model at its call limit holds no more workers: the jobs beyond the limit wait briefly
    /// for a slot, then go back to the queue, and the workers take other models' jobs. Three
    /// workers, a limit of one call, three slow generations and then a quick one on another
    /// model: the quick one is done while the first slow one is still running.
    @Test func aSlowModelDoesNotTakeEveryWorker() async throws {
        let slow = ScriptedProvider(id: "slow", otherwise: [.wait(.seconds(6)), .deliver(side: 64)])
        let quick = ScriptedProvider(id: "quick")
        try await withPictor { app in
            app.pictor = app.pictor.with(
                models: ModelCatalog(entries: [
                    .init(id: "slow", provider: slow, pricePerImage: 1, timeout: .seconds(20), maxAttempts: 1, styles: []),
                    .init(id: "quick", provider: quick, pricePerImage: 1, timeout: .seconds(5), maxAttempts: 1, styles: []),
                ]),
                providerHealth: ProviderHealth(callLimit: 1))
            let browser = try await signedInForAPI(app, email: "crowded@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                var slowOnes: [UUID] = []
                for n in 0..<3 {
                    let created: GenerationView = try await browser.generate(#"{"model":"slow","prompt":"slow \#(n)","size":"64x64"}"#).decoded()
                    slowOnes.append(created.id)
                }
                try await Task.sleep(for: .milliseconds(300))  // every worker has a slow one
                let started = ContinuousClock.now
                let created: GenerationView = try await browser.generate(#"{"model":"quick","prompt":"quick","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.status == "succeeded")
                #expect(ContinuousClock.now - started < .seconds(5), "the quick model waited for the slow one's workers")
                let running = try await slowOnes.asyncMap { try await browser.generation($0).status }
                #expect(running.filter { $0 == "succeeded" }.isEmpty, "\(running)")
                // The slow ones all finish in turn, none charged an attempt for its waits.
                for id in slowOnes {
                    #expect(try await browser.finished(id, within: 40).status == "succeeded")
                    let jobID = try #require(try await GenerationModel.find(id, on: app.db)?.jobID)
                    #expect(try await JobQueue.snapshot(jobID, on: app.db)?.attempts == 1)
                }
            }
        }
    }

    /// A busy model is working through its queue: a generation waiting its turn is not failed
    /// by the deadline, however long ago it was submitted (only a resting model's wait is).
    @Test func aBusyModelIsWaitedForPastTheDeadline() async throws {
        let slow = ScriptedProvider(id: "slow", otherwise: [.wait(.milliseconds(1500)), .deliver(side: 64)])
        try await withPictor({ $0.generationDeadlineSeconds = 10 }) { app in
            app.pictor = app.pictor.with(
                models: ModelCatalog(entries: [
                    .init(id: "slow", provider: slow, pricePerImage: 1, timeout: .seconds(20), maxAttempts: 1, styles: [])
                ]),
                providerHealth: ProviderHealth(callLimit: 1))
            let browser = try await signedInForAPI(app, email: "backlog@example.com")
            var ids: [UUID] = []
            for n in 0..<3 {
                let created: GenerationView = try await browser.generate(#"{"model":"slow","prompt":"old \#(n)","size":"64x64"}"#).decoded()
                ids.append(created.id)
            }
            // Submitted an hour ago: long past the deadline.
            try await sqlDatabase(app.db).raw("UPDATE generations SET created_at = \(bind: Date().addingTimeInterval(-3600))").run()
            try await withRunner(app, handlers: workHandlers) { _ in
                for id in ids {
                    let done = try await browser.finished(id, within: 40)
                    #expect(done.status == "succeeded", "\(done.status): \(done.reason ?? "")")
                }
            }
        }
    }

    @Test func withoutAFallbackTheErrorIsRetriedThenFailsFree() async throws {
        let lonely = ScriptedProvider(id: "lonely", otherwise: [.fail(.retryable("HTTP 502"))])
        try await withPictor { app in
            app.pictor = app.pictor.with(
                models: ModelCatalog(entries: [
                    .init(id: "lonely", provider: lonely, pricePerImage: 1, timeout: .seconds(2), maxAttempts: 2, styles: [])
                ]))
            let browser = try await signedInForAPI(app, email: "alone@example.com")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(#"{"prompt":"a cat","size":"64x64"}"#).decoded()
                let done = try await browser.finished(created.id)
                #expect(
                    done.status == "failed" && done.creditsCharged == 0
                        && done.reason == GenerationFailurePolicy.keptFailing + " You were not charged.")
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
            #expect(try await GenerationModel.find(created.id, on: app.db)?.state == .running)  // the runner hands it back
        }
    }
}
