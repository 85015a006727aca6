import Domain
import Foundation
import Persistence
import Vapor

/// `GET /generations/{id}/events`: Server-Sent Events for one generation. Each change sends
/// an event named after the state (`queued`, `running`, `succeeded`, `failed`, `blocked`,
/// `cancelled`) whose data is the generation as `GET /api/v1/generations/{id}` shows it
/// (queue position, progress, images, reason). The stream ends after a final state, after
/// `maxDuration`, when the process shuts down, or with an event `signed-out` when the sign-in
/// that opened it no longer holds (signed out, session or API key revoked, account suspended).
/// Polling clients use that GET instead.
enum GenerationEventStream {
    /// Longest wait between re-reads when no change is announced (changes from processes
    /// that cannot notify this one are still seen).
    static let recheckInterval: Duration = .seconds(2)
    /// A comment line after this long without a write. It keeps proxies from closing a quiet
    /// stream, and it is how a stream learns that its client has gone (a closed tab): nothing
    /// tells it but a write that fails (a test holds this). A quiet stream re-reads every
    /// `recheckInterval` anyway, so it writes a few bytes about each time, and a stream whose
    /// client left gives its place (`GenerationEvents.reserveStream`) back within seconds.
    static let keepAliveInterval: Duration = .seconds(2)
    /// A stream ends after this long; EventSource reconnects by itself.
    static let maxDuration: Duration = .seconds(600)
    /// How often a stream asks whether its sign-in still holds (at most; a quiet stream asks at
    /// its next re-read, so a revoked one ends within about twice this).
    static let signInRecheckInterval: Duration = .seconds(2)

    @Sendable static func stream(req: Request) async throws -> Response {
        let user = try req.requireUser(scope: .generationsRead)
        let first = try await GenerationsAPI.owned(req, user: user)
        let id = first.id!
        guard let place = req.pictor.generationEvents.reserveStream(for: user.id) else {
            throw TooManyEventStreams(limit: req.pictor.generationEvents.maxStreamsPerUser)
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        // Sorted keys: an event is sent when its data changed, and without them the same
        // generation encodes with its keys in a different order each time (a test holds this).
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let response = Response(status: .ok)
        response.headers.contentType = HTTPMediaType(type: "text", subType: "event-stream", parameters: ["charset": "utf-8"])
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        response.headers.replaceOrAdd(name: "X-Accel-Buffering", value: "no")
        response.body = .init(asyncStream: { writer in
            defer { place.release() }
            await req.pictor.generationEvents.follow(id) { signal in
                let started = ContinuousClock.now
                var lastSent: Data?
                var lastWrite = ContinuousClock.now
                var signInChecked = ContinuousClock.now
                let events = req.pictor.generationEvents
                do {
                    // A cancelled wait returns at once: stop rather than re-read in a loop.
                    // Shutting down: no more reads (the database goes away with the application).
                    while ContinuousClock.now - started < maxDuration && !Task.isCancelled && !events.isClosing {
                        if ContinuousClock.now - signInChecked >= signInRecheckInterval {
                            guard try await req.isStillSignedIn(user) else {
                                try await writer.write(.buffer(ByteBuffer(string: "event: signed-out\ndata: {}\n\n")))
                                break
                            }
                            signInChecked = ContinuousClock.now
                        }
                        guard let row = try await GenerationStore.find(id, of: user.id, on: req.db) else { break }
                        let dto = try await GenerationsAPI.dto(row, req: req)
                        let data = try encoder.encode(dto)
                        if data != lastSent {
                            var event = "event: \(dto.status)\ndata: "
                            event += String(decoding: data, as: UTF8.self) + "\n\n"
                            try await writer.write(.buffer(ByteBuffer(string: event)))
                            lastSent = data
                            lastWrite = ContinuousClock.now
                        } else if ContinuousClock.now - lastWrite >= keepAliveInterval {
                            try await writer.write(.buffer(ByteBuffer(string: ": keep-alive\n\n")))
                            lastWrite = ContinuousClock.now
                        }
                        // Shutting down: the client has the current state, and reconnects elsewhere.
                        if row.state.isFinal || events.isClosing { break }
                        await signal.wait(upTo: recheckInterval)
                    }
                } catch {
                    req.logger.debug("event stream ended", metadata: ["error": .string("\(error)")])
                }
            }
            try? await writer.write(.end)
        })
        return response
    }
}

/// A user opened more event streams than one process allows at once.
struct TooManyEventStreams: UserFacingError {
    let limit: Int
    var kind: FailureKind { .rateLimited }
    var userMessage: String {
        "You already follow \(limit) generations live. Close one of those pages or streams, or poll GET /api/v1/generations/{id} instead."
    }
}
