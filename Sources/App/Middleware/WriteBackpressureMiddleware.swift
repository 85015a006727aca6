import Vapor

/// One answer at a time on a connection, and only as fast as the client reads it.
///
/// A client may send many requests at once on one connection (HTTP/1.1 pipelining) and never
/// read the answers. The server answers them in order, and by itself it hands the next request on
/// as soon as the previous answer is *queued*, not sent: every answer then waits in memory, and
/// 92 KB of pipelined requests for a large page once cost more than 1 GB. NIO's pipelining
/// handler reads nothing more from a connection while an answer's end is outstanding, so this
/// middleware makes the end wait for the body: every body is written as one piece, and the end
/// follows only when that piece has reached the socket. A client that does not read then holds
/// one answer in memory, not thousands.
///
/// Outermost of all middleware, so that error pages are paced too. Bodies that already stream
/// (files, progress events) write piece by piece behind the socket anyway. HEAD, 204 and 304
/// answers have no body to wait on and are left as they are.
struct WriteBackpressureMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        // A 304 keeps the Content-Length of the answer it stands for (setting a body would make it 0).
        guard request.method != .HEAD, response.status != .noContent, response.status != .notModified else { return response }
        // `buffer` is nil for a body that streams already; an empty body is paced as well: its
        // empty write completes only after the head before it has been sent.
        let body = response.body.buffer ?? (response.body.count == 0 ? request.byteBufferAllocator.buffer(capacity: 0) : nil)
        guard let body else { return response }
        response.body = .init(
            stream: { writer in
                writer.write(.buffer(body)).whenComplete { sent in
                    switch sent {
                    case .success: writer.write(.end, promise: nil)
                    case .failure(let error): writer.write(.error(error), promise: nil)
                    }
                }
            }, count: body.readableBytes, byteBufferAllocator: request.byteBufferAllocator)
        return response
    }
}
