import Foundation
import NIOConcurrencyHelpers
import Vapor

/// A ComfyUI server as Pictor sees it, answering as the real one does, routes, status codes,
/// `Allow` headers and bodies included, read from ComfyUI's `server.py` and aiohttp 3.13:
///
/// - `.v0_3_64` (git a125cd84): no jobs API. `POST /queue {"delete": [id]}` and
///   `POST /interrupt {"prompt_id": id}` (which interrupts only that prompt, and only while it
///   runs) answer 200 with an empty body; `POST /history {"delete": [id]}` the same; a body that
///   is not JSON is a 500. Every route also answers under `/api`. Any other POST is 405 with
///   `Allow: GET,HEAD` and `405: Method Not Allowed` (the static file route catches every path for
///   GET and HEAD), so `POST /api/jobs/{id}/cancel` is 405; any other GET is 404, empty.
/// - `.v0_25_0` (git 4e716f7c): the same plus `POST /api/jobs/{id}/cancel`, 200
///   `{"cancelled": true|false}` (true when the prompt was pending or running).
///
/// Prompts run one at a time, each for `runTime`, and end as `outcome` says; the WebSocket sends
/// what ComfyUI sends to the prompt's client: `executing {node: null}` at the end,
/// `execution_interrupted`, `execution_error`. Outputs are one image per batch item.
final class ComfyUIServer: Sendable {
    enum Version: Sendable { case v0_3_64, v0_25_0 }
    enum Outcome: Sendable {
        case success
        case error(String)
    }

    struct Prompt: Sendable {
        let id: String
        let clientID: String?
        let batch: Int
    }

    private struct State {
        var pending: [Prompt] = []
        var running: (prompt: Prompt, interrupted: Bool)?
        var history: [String: String] = [:]
        var sockets: [String: WebSocket] = [:]
        var number = 0
    }

    let version: Version
    let runTime: Duration
    let outcome: Outcome
    private let state = NIOLockedValueBox(State())

    init(version: Version, runTime: Duration = .milliseconds(300), outcome: Outcome = .success) {
        self.version = version
        self.runTime = runTime
        self.outcome = outcome
    }

    /// Prompts waiting, and the one running, by id.
    var pendingIDs: [String] { state.withLockedValue { $0.pending.map(\.id) } }
    var runningID: String? { state.withLockedValue { $0.running?.prompt.id } }
    var historyIDs: [String] { state.withLockedValue { Array($0.history.keys) } }

    /// Installs the routes (each also under `/api`) and starts running prompts.
    func install(on app: Application) {
        for prefix in [[], ["api"]] as [[PathComponent]] {
            app.post(prefix + ["prompt"]) { req in try self.submit(req) }
            app.get(prefix + ["queue"]) { _ in self.queue() }
            app.post(prefix + ["queue"]) { req in try self.deleteFromQueue(req) }
            app.post(prefix + ["interrupt"]) { req in self.interrupt(req) }
            app.get(prefix + ["history", ":id"]) { req in self.history(req.parameters.get("id") ?? "") }
            app.post(prefix + ["history"]) { req in try self.deleteHistory(req) }
            app.get(prefix + ["view"]) { _ in Response(status: .ok, headers: ["Content-Type": "image/png"], body: .init(data: Self.png)) }
            app.webSocket(prefix + ["ws"]) { req, socket in
                guard let client = try? req.query.get(String.self, at: "clientId") else { return }
                self.state.withLockedValue { $0.sockets[client] = socket }
            }
        }
        if version == .v0_25_0 {
            app.post("api", "jobs", ":id", "cancel") { req in self.cancelJob(req.parameters.get("id") ?? "") }
        }
        app.middleware.use(AiohttpFallbacks())
        let task = Task { await self.runPrompts() }
        app.lifecycle.use(Stopper(task: task))
    }

    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 3, 3])

    // MARK: Routes

    private func submit(_ req: Request) throws -> Response {
        guard let body = Self.json(req), let graph = body["prompt"] as? [String: Any] else {
            return Self.json(
                status: .badRequest,
                #"{"error": {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided", "extra_info": {}}, "node_errors": {}}"#
            )
        }
        let id = (body["prompt_id"] as? String) ?? UUID().uuidString.lowercased()
        let batch = graph.values.compactMap { (($0 as? [String: Any])?["inputs"] as? [String: Any])?["batch_size"] as? Int }.first ?? 1
        let number = state.withLockedValue { state -> Int in
            state.number += 1
            state.pending.append(Prompt(id: id, clientID: body["client_id"] as? String, batch: batch))
            return state.number
        }
        return Self.json(status: .ok, #"{"prompt_id": "\#(id)", "number": \#(number), "node_errors": {}}"#)
    }

    private func queue() -> Response {
        let (running, pending) = state.withLockedValue { state in
            (state.running.map { [$0.prompt.id] } ?? [], state.pending.map(\.id))
        }
        func items(_ ids: [String]) -> String { ids.enumerated().map { #"[\#($0.offset), "\#($0.element)", {}, {}, []]"# }.joined(separator: ", ") }
        return Self.json(status: .ok, #"{"queue_running": [\#(items(running))], "queue_pending": [\#(items(pending))]}"#)
    }

    private func deleteFromQueue(_ req: Request) throws -> Response {
        guard let body = Self.json(req) else { return Self.serverError }
        if let ids = body["delete"] as? [String] {
            state.withLockedValue { $0.pending.removeAll { ids.contains($0.id) } }
        }
        return Response(status: .ok)
    }

    private func interrupt(_ req: Request) -> Response {
        let id = Self.json(req)?["prompt_id"] as? String
        state.withLockedValue { state in
            // With a prompt id, only that prompt, and only while it runs; without one, whatever runs.
            if let running = state.running, id == nil || id == running.prompt.id { state.running?.interrupted = true }
        }
        return Response(status: .ok)
    }

    private func history(_ id: String) -> Response {
        let entry = state.withLockedValue { $0.history[id] }
        return Self.json(status: .ok, entry.map { #"{"\#(id)": \#($0)}"# } ?? "{}")
    }

    private func deleteHistory(_ req: Request) throws -> Response {
        guard let body = Self.json(req) else { return Self.serverError }
        if let ids = body["delete"] as? [String] { state.withLockedValue { state in for id in ids { state.history[id] = nil } } }
        return Response(status: .ok)
    }

    private func cancelJob(_ id: String) -> Response {
        let cancelled = state.withLockedValue { state -> Bool in
            if state.running?.prompt.id == id {
                state.running?.interrupted = true
                return true
            }
            let before = state.pending.count
            state.pending.removeAll { $0.id == id }
            return state.pending.count < before
        }
        return Self.json(status: .ok, #"{"cancelled": \#(cancelled)}"#)
    }

    // MARK: Running prompts

    private func runPrompts() async {
        while !Task.isCancelled {
            let next = state.withLockedValue { state -> Prompt? in
                guard state.running == nil, !state.pending.isEmpty else { return nil }
                let prompt = state.pending.removeFirst()
                state.running = (prompt, false)
                return prompt
            }
            guard let prompt = next else {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            send(prompt, #"{"type": "execution_start", "data": {"prompt_id": "\#(prompt.id)"}}"#)
            var waited = Duration.zero
            var interrupted = false
            while waited < runTime, !interrupted {
                try? await Task.sleep(for: .milliseconds(20))
                waited += .milliseconds(20)
                interrupted = state.withLockedValue { $0.running?.interrupted ?? false }
            }
            let start = #"["execution_start", {"prompt_id": "\#(prompt.id)", "timestamp": 1}]"#
            let entry: String
            if interrupted {
                let data = #"{"prompt_id": "\#(prompt.id)", "node_id": "3", "node_type": "KSampler", "executed": [], "timestamp": 2}"#
                send(prompt, #"{"type": "execution_interrupted", "data": \#(data)}"#)
                entry =
                    #"{"prompt": [], "outputs": {}, "status": {"status_str": "error", "completed": false, "messages": [\#(start), ["execution_interrupted", \#(data)]]}, "meta": {}}"#
            } else if case .error(let message) = outcome {
                let data =
                    #"{"prompt_id": "\#(prompt.id)", "node_id": "9", "node_type": "SaveImage", "executed": [], "exception_message": "\#(message)\n", "exception_type": "builtins.OSError", "traceback": [], "current_inputs": {}, "current_outputs": [], "timestamp": 2}"#
                send(prompt, #"{"type": "execution_error", "data": \#(data)}"#)
                entry =
                    #"{"prompt": [], "outputs": {}, "status": {"status_str": "error", "completed": false, "messages": [\#(start), ["execution_error", \#(data)]]}, "meta": {}}"#
            } else {
                let images = (1...max(prompt.batch, 1)).map { #"{"filename": "ComfyUI_\#($0)_.png", "subfolder": "", "type": "output"}"# }
                entry =
                    #"{"prompt": [], "outputs": {"9": {"images": [\#(images.joined(separator: ", "))]}}, "status": {"status_str": "success", "completed": true, "messages": [\#(start), ["execution_success", {"prompt_id": "\#(prompt.id)", "timestamp": 2}]]}, "meta": {}}"#
            }
            state.withLockedValue { state in
                state.history[prompt.id] = entry
                state.running = nil
            }
            send(prompt, #"{"type": "executing", "data": {"node": null, "prompt_id": "\#(prompt.id)"}}"#)
        }
    }

    private func send(_ prompt: Prompt, _ text: String) {
        guard let client = prompt.clientID, let socket = state.withLockedValue({ $0.sockets[client] }) else { return }
        socket.send(text)
    }

    // MARK: Answers

    private static func json(_ req: Request) -> [String: Any]? {
        guard let buffer = req.body.data else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any]
    }

    private static func json(status: HTTPResponseStatus, _ text: String) -> Response {
        Response(status: status, headers: ["Content-Type": "application/json; charset=utf-8"], body: .init(string: text))
    }

    /// aiohttp's answer to an exception nobody caught.
    private static var serverError: Response {
        Response(
            status: .internalServerError, headers: ["Content-Type": "text/plain; charset=utf-8", "Connection": "close"],
            body: .init(string: "500 Internal Server Error\n\nServer got itself in trouble"))
    }

    /// What aiohttp answers where no route matches: a GET or HEAD falls to the static file route
    /// (404, empty); any other method finds that route's `GET,HEAD` only (405).
    private struct AiohttpFallbacks: AsyncMiddleware {
        func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
            do {
                return try await next.respond(to: request)
            } catch let error as Abort where error.status == .notFound {
                if request.method == .GET || request.method == .HEAD { return Response(status: .notFound) }
                let paths: Set<String> = ["/prompt", "/queue", "/history", "/api/prompt", "/api/queue", "/api/history"]
                return Response(
                    status: .methodNotAllowed,
                    headers: ["Allow": paths.contains(request.url.path) ? "GET,HEAD,POST" : "GET,HEAD", "Content-Type": "text/plain; charset=utf-8"],
                    body: .init(string: "405: Method Not Allowed"))
            }
        }
    }

    private struct Stopper: LifecycleHandler {
        let task: Task<Void, Never>
        func shutdown(_ application: Application) { task.cancel() }
    }
}
