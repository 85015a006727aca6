@testable import App
import Fluent
import Foundation
import Persistence
import Testing

/// What "every image written to the BlobStore before its row commits" takes on a disk, read from
/// the system calls a real `pictor worker` makes (strace): each image and thumbnail is flushed
/// under a temporary name, renamed to its key, and then the folder holding the new name is
/// flushed, so that after a power cut a recorded image still has its bytes under its name.
@Suite struct BlobDurabilityTests {
    static let strace = "/usr/bin/strace"

    @Test func aGenerationsBlobsAreFlushedWithTheirNames() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.strace), "strace is missing: scripts/setup test installs it")
        try await withPictor { app in
            let config = app.pictor.config
            let browser = try await signedInForAPI(app, email: "durable@example.com")
            let created: GenerationView = try await browser.generate(#"{"prompt":"a lantern in the fog","size":"512x512","count":2}"#).decoded()

            let trace = config.dataDirectory + "/worker.strace"
            let tracer = try WorkerCrashTests.startWorker(config, environment: ["JOB_WORKERS": "1"], log: "worker.log", under: [
                Self.strace, "-f", "-qq", "-y", "-e", "trace=fsync,rename,renameat,renameat2", "-o", trace,
            ])
            defer { if tracer.isRunning { kill(tracer.processIdentifier, SIGKILL) } }
            let finished = try await eventually(within: 60) { try await browser.generation(created.id).status == "succeeded" }
            #expect(finished, "not finished: \(WorkerCrashTests.log(config, "worker.log").suffix(2000))")
            // Stop the worker (strace's child) so that strace ends and its trace is complete.
            let children = try String(contentsOfFile: "/proc/\(tracer.processIdentifier)/task/\(tracer.processIdentifier)/children", encoding: .utf8)
            let worker = try #require(children.split(separator: " ").first.flatMap { Int32($0) })
            kill(worker, SIGTERM)
            tracer.waitUntilExit()

            let calls = try SystemCalls(trace: String(contentsOfFile: trace, encoding: .utf8))
            let images = try await GenerationImageModel.query(on: app.db).filter(\.$generationID == created.id).all()
            #expect(images.count == 2)
            for key in images.flatMap({ [$0.blobKey, $0.thumbnailKey] }) {
                let renamed = try #require(calls.renames.firstIndex { $0.to.hasSuffix("/" + key) }, "no rename to \(key)")
                let temporary = calls.renames[renamed].from
                let folder = URL(fileURLWithPath: calls.renames[renamed].to).deletingLastPathComponent().path
                let position = calls.renames[renamed].position
                #expect(calls.flushes.contains { $0.path == temporary && $0.position < position }, "\(key): bytes not flushed before the rename")
                #expect(calls.flushes.contains { $0.path == folder && $0.position > position }, "\(key): folder \(folder) not flushed after the rename")
            }
        }
    }
}

/// The renames and fsyncs in an `strace -f -y` log, with their order in it.
struct SystemCalls {
    var renames: [(from: String, to: String, position: Int)] = []
    var flushes: [(path: String, position: Int)] = []

    init(trace: String) throws {
        let rename = try Regex(#"rename(?:at2?)?\((?:[^"]*?)"([^"]+)",(?:[^"]*?)"([^"]+)""#)
        let fsync = try Regex(#"fsync\(\d+<([^>]+)>"#)
        for (position, line) in trace.split(separator: "\n").enumerated() {
            if let match = try rename.firstMatch(in: line), let from = match.output[1].substring, let to = match.output[2].substring {
                renames.append((String(from), String(to), position))
            } else if let match = try fsync.firstMatch(in: line), let path = match.output[1].substring {
                flushes.append((String(path), position))
            }
        }
    }
}
