import Fluent
import Foundation
import Persistence
import Testing

@testable import App

/// What "every image written to the BlobStore before its row commits" takes on a disk, read from
/// the system calls a real `pictor worker` makes (strace): each image and thumbnail is flushed
/// under a temporary name, renamed to its key, and then the folder holding the new name is
/// flushed (with the folders above it, the first time), so that after a power cut a recorded
/// image still has its bytes under its name.
@Suite struct BlobDurabilityTests {
    static let strace = "/usr/bin/strace"

    @Test func aGenerationsBlobsAreFlushedWithTheirNames() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.strace), "strace is missing: scripts/setup test installs it")
        try await withPictor { app in
            let config = app.pictor.config
            let browser = try await signedInForAPI(app, email: "durable@example.com")
            let created: GenerationView = try await browser.generate(#"{"prompt":"a lantern in the fog","size":"512x512","count":2}"#).decoded()

            let trace = config.dataDirectory + "/worker.strace"
            let tracer = try WorkerCrashTests.startWorker(
                config, environment: ["JOB_WORKERS": "1"], log: "worker.log",
                under: [
                    Self.strace, "-f", "-qq", "-y", "-e", "trace=fsync,rename,renameat,renameat2", "-o", trace,
                ])
            // The worker is strace's child: if strace alone were killed, the worker would run on.
            var worker: Int32?
            defer {
                if let worker { kill(worker, SIGKILL) }
                if tracer.isRunning { kill(tracer.processIdentifier, SIGKILL) }
            }
            let traced = try await eventually(within: 30) {
                worker = Self.child(of: tracer.processIdentifier)
                return worker != nil || !tracer.isRunning
            }
            #expect(
                traced && tracer.isRunning,
                "strace did not start the worker (is ptrace allowed here?): \(WorkerCrashTests.log(config, "worker.log").suffix(2000))")
            let finished = try await eventually(within: 60) {
                try await browser.generation(created.id).status == "succeeded" || !tracer.isRunning
            }
            #expect(finished && tracer.isRunning, "not finished: \(WorkerCrashTests.log(config, "worker.log").suffix(2000))")
            // Stop the worker so that strace ends and its trace is complete: polling, as
            // `waitUntilExit` would spin on this task's thread; SIGKILL if SIGTERM did not do.
            let stopping = try #require(worker)
            kill(stopping, SIGTERM)
            let stopped = try await eventually(within: 30) { !tracer.isRunning }
            #expect(stopped, "the worker did not stop on SIGTERM: \(WorkerCrashTests.log(config, "worker.log").suffix(1000))")
            if !stopped {
                kill(stopping, SIGKILL)
                _ = try await eventually(within: 5) { !tracer.isRunning }
            }

            let calls = try SystemCalls(trace: String(contentsOfFile: trace, encoding: .utf8))
            let images = try await GenerationImageModel.query(on: app.db).filter(\.$generationID == created.id).all()
            #expect(images.count == 2)
            for key in images.flatMap({ [$0.blobKey, $0.thumbnailKey] }) {
                // The last rename to the key is the one that succeeded (the first may have found
                // the user's folder missing).
                let rename = try #require(calls.renames.last { $0.to.hasSuffix("/" + key) }, "no rename to \(key)")
                #expect(
                    calls.flushes.contains { $0.path == rename.from && $0.position < rename.position }, "\(key): bytes not flushed before the rename")
                // The folder that holds the name, and (the user's folder being new) every folder
                // above it up to the store's root.
                let root = String(rename.to.dropLast(key.count + 1))
                var folder = URL(fileURLWithPath: rename.to).deletingLastPathComponent().path
                while folder.count >= root.count {
                    #expect(
                        calls.flushes.contains { $0.path == folder && $0.position > rename.position },
                        "\(key): folder \(folder) not flushed after the rename")
                    folder = URL(fileURLWithPath: folder).deletingLastPathComponent().path
                }
            }
        }
    }

    /// The child of process `pid` that runs `pictor` (strace also starts short-lived children
    /// of its own, to probe what ptrace can do), from /proc.
    static func child(of pid: Int32) -> Int32? {
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").compactMap { Int32($0) }.first { child in
            let command = (try? String(contentsOfFile: "/proc/\(child)/cmdline", encoding: .utf8)) ?? ""
            return command.hasPrefix(WorkerCrashTests.binary.path + "\u{0}")
        }
    }
}

/// The renames and fsyncs in an `strace -f -y` log, in order, paths with symbolic links resolved
/// (`-y` shows a descriptor's real path; a rename shows the path as it was given).
struct SystemCalls {
    var renames: [(from: String, to: String, position: Int)] = []
    var flushes: [(path: String, position: Int)] = []

    init(trace: String) throws {
        let rename = try Regex(#"rename(?:at2?)?\((?:[^"]*?)"([^"]+)",(?:[^"]*?)"([^"]+)""#)
        let fsync = try Regex(#"fsync\(\d+<([^>]+)>"#)
        func real(_ path: Substring) -> String {
            // The renamed-from file no longer exists: resolve its folder.
            let url = URL(fileURLWithPath: String(path))
            return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).path
        }
        for (position, line) in trace.split(separator: "\n").enumerated() {
            if let match = try rename.firstMatch(in: line), let from = match.output[1].substring, let to = match.output[2].substring {
                renames.append((real(from), real(to), position))
            } else if let match = try fsync.firstMatch(in: line), let path = match.output[1].substring {
                flushes.append((String(path), position))
            }
        }
    }
}
