import AsyncHTTPClient
import Fluent
import Foundation
import NIOCore
import NIOPosix
import Persistence
import SQLKit
import Synchronization
import Testing
import Vapor
import VaporTesting

@testable import App

/// Limits that keep one client from slowing the service for everyone, and answers that tell an
/// outsider nothing: how many generations one person may have waiting, how long a client may take
/// to send a body or sit idle, the reset page's work, the server's timing header.
@Suite struct AbuseLimitsTests {
    @Test func onePersonHasAtMostSoManyGenerationsWaiting() async throws {
        try await withPictor({ $0.maxActiveGenerationsPerUser = 3 }) { app in
            let browser = try await signedInForAPI(app, email: "queue-filler@example.com")
            var made: [GenerationView] = []
            for index in 0..<3 {
                made.append(try await browser.generate(#"{"prompt":"wait \#(index)","size":"512x512"}"#).decoded())
            }
            let refused = try await browser.generate(#"{"prompt":"one too many","size":"512x512"}"#)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.text.contains("already have 3 generations waiting or running"))
            #expect(try await GenerationModel.query(on: app.db).count() == 3)
            #expect(try await jobCount(kind: GenerationService.jobKind, on: app.db) == 3)
            // The studio says so above the form.
            try await browser.get("/studio")
            let form = try await browser.post("/studio", ["prompt": "from the page", "size": "1024x1024", "count": "1"])
            #expect(form.status == .tooManyRequests && form.text.contains("Wait for some to finish"))
            // Someone else is not held back, and a cancelled one makes room.
            let other = try await signedInForAPI(app, email: "queue-neighbour@example.com")
            #expect(try await other.generate(#"{"prompt":"mine","size":"512x512"}"#).status == .created)
            #expect(try await browser.api(.POST, "/api/v1/generations/\(made[0].id)/cancel").status == .ok)
            #expect(try await browser.generate(#"{"prompt":"room again","size":"512x512"}"#).status == .created)
        }
    }

    @Test func submissionsAtOnceDoNotPassTheLimitTogether() async throws {
        try await withPictor({ $0.maxActiveGenerationsPerUser = 5 }) { app in
            let browser = try await signedInForAPI(app, email: "racer@example.com")
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for index in 0..<20 {
                    group.addTask { try await browser.generate(#"{"prompt":"race \#(index)","size":"512x512"}"#).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 5, "\(statuses)")
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 15)
            #expect(try await GenerationModel.query(on: app.db).count() == 5)
        }
    }

    @Test func theResetPageDoesTheSameWorkForAnyAddress() async throws {
        try await withPictor { app in
            _ = try await Accounts.signedIn(app, email: "has-account@example.com")
            let sql = try sqlDatabase(app.db)
            func counts() async throws -> [Int] {
                try await ["one_time_codes", "mail_outbox", "audit_log", "jobs"].asyncMap { table in
                    try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()!.decode(column: "n", as: Int.self)
                }
            }
            var written: [[Int]] = []
            for email in ["has-account@example.com", "no-account@example.com"] {
                let before = try await counts()
                let browser = Browser(app)
                try await browser.get("/forgot-password")
                let answer = try await browser.post("/forgot-password", ["email": email])
                #expect(answer.status == .ok && answer.text.contains("If an account uses that address"))
                let after = try await counts()
                written.append(zip(after, before).map { $0 - $1 })
            }
            // The same rows either way: one audit entry and one job, no code and no mail yet.
            #expect(written[0] == written[1] && written[0] == [0, 0, 1, 1], "\(written)")
            // The worker then issues the code for the account only.
            try await withRunner(app, handlers: [MailedCodeHandler(code: .resetPassword), SendMailHandler()]) { _ in
                let done = try await eventually {
                    try await jobCount(kind: MailedCodeHandler.Code.resetPassword.rawValue, state: "succeeded", on: app.db) == 2
                }
                #expect(done)
            }
            #expect(try await Accounts.mails(to: "has-account@example.com", app: app).contains { $0.subject.contains("password reset code") })
            #expect(try await Accounts.mails(to: "no-account@example.com", app: app).isEmpty)
            #expect(try await OneTimeCodeModel.query(on: app.db).filter(\.$purpose == .resetPassword).count() == 1)
        }
    }

    @Test func serverTimingOnlyWhenTheOperatorAsks() async throws {
        try await withPictor { app in
            let page = try await Browser(app).get("/login")
            #expect(page.headers.first(name: "Server-Timing") == nil)
        }
        try await withPictor({ $0.serverTiming = true }) { app in
            let page = try await Browser(app).get("/login")
            #expect(page.headers.first(name: "Server-Timing")?.hasPrefix("app;dur=") == true)
        }
    }

    /// Over a real connection: a client whose body stops arriving gets 408 and a closed connection
    /// after the body timeout; one that sends nothing is closed after the idle timeout. (Vapor
    /// hands a request on once its body has started to stream, its second piece; a body stalled
    /// before that is ended by the idle timeout, without an answer.)
    @Test func slowClientsAreCutOff() async throws {
        try await withPictor({
            $0.httpBodyTimeoutSeconds = 1
            $0.httpIdleTimeoutSeconds = 5
        }) { app in
            try await app.server.start(address: .hostname("127.0.0.1", port: 0))
            let port = try #require((app.server as? HTTPServer)?.localAddress?.port)

            let slow = try Socket(port: port)
            try slow.send(
                "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a")
            try await Task.sleep(for: .milliseconds(200))
            try slow.send("bc")  // the body streams, then stalls
            let started = ContinuousClock.now
            let answer = try await slow.readFirst(timeout: 15)
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer.prefix(200))")
            #expect(ContinuousClock.now - started < .seconds(4))
            // Closed at the latest by the idle timeout (Vapor waits for the rest of a body it no longer needs).
            _ = try await slow.readUntilClosed(timeout: 15)
            #expect(ContinuousClock.now - started < .seconds(12))

            let idle = try Socket(port: port)
            let opened = ContinuousClock.now
            let nothing = try await idle.readUntilClosed(timeout: 15)
            #expect(nothing.isEmpty)
            let held = ContinuousClock.now - opened
            #expect(held >= .seconds(4) && held < .seconds(12), "held \(held)")
            await app.server.shutdown()
        }
    }

    /// A client that pipelines many requests and reads none of the answers gets only as many
    /// answered as the socket buffers hold: the server stops reading from it until it reads.
    /// (Without the pacing, all 120 are answered at once and 15 MB of answers wait in memory.)
    @Test func pipelinedRequestsWaitForAClientThatReads() async throws {
        try await withPictor { app in
            let answered = Counter()
            let page = String(repeating: "a", count: 128 * 1024)
            app.get("pipelining-probe") { _ -> String in
                answered.add()
                return page
            }
            try await app.server.start(address: .hostname("127.0.0.1", port: 0))
            let port = try #require((app.server as? HTTPServer)?.localAddress?.port)

            let client = try Socket(port: port, receiveBuffer: 4096)
            try client.send(String(repeating: "GET /pipelining-probe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", count: 120))
            try await Task.sleep(for: .seconds(2))
            let whileNotReading = answered.value
            #expect(whileNotReading < 60, "\(whileNotReading) of 120 answered for a client that reads nothing")

            // Reading lets the rest through: nothing was dropped.
            let everything = try await client.read(bytes: 120 * page.utf8.count, timeout: 30)
            #expect(everything >= 120 * page.utf8.count)
            #expect(answered.value == 120)
            await app.server.shutdown()
        }
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

/// A count that handlers on any thread can add to.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// A blocking TCP client for tests that must control every byte and see the server close.
final class Socket: @unchecked Sendable {
    private let descriptor: Int32

    /// `receiveBuffer` (bytes) keeps the kernel from taking much on the client's behalf.
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketError() }
    }

    deinit { close(descriptor) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw SocketError() }
    }

    /// The first bytes the server sends (or "" after `timeout` seconds, or when it closes first).
    func readFirst(timeout: Int) async throws -> String {
        String(decoding: await receive(upTo: 1, timeout: timeout), as: UTF8.self)
    }

    /// Everything the server sends until it closes the connection (or `timeout` seconds pass).
    func readUntilClosed(timeout: Int) async throws -> String {
        String(decoding: await receive(upTo: .max, timeout: timeout), as: UTF8.self)
    }

    /// Reads until `bytes` have arrived, the server closes, or `timeout` seconds pass without
    /// data; answers how many arrived.
    func read(bytes: Int, timeout: Int) async throws -> Int {
        await receive(upTo: bytes, timeout: timeout).count
    }

    /// Reads until at least `limit` bytes have arrived, the server closes, or `timeout` seconds
    /// pass without data. The blocking reads run on a thread of their own: blocked on the
    /// two-thread cooperative pool, they stalled every other test's tasks as long as they waited.
    private func receive(upTo limit: Int, timeout: Int) async -> [UInt8] {
        let descriptor = descriptor
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var deadline = timeval(tv_sec: timeout, tv_usec: 0)
                setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &deadline, socklen_t(MemoryLayout<timeval>.size))
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                while received.count < limit {
                    let count = recv(descriptor, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    received += buffer[0..<count]
                }
                continuation.resume(returning: received)
            }
        }
    }

    struct SocketError: Error {}
}
