import Foundation
import NIOCore
import NIOPosix
import Synchronization
import WebSocketKit

/// ComfyUI's WebSocket (`/ws?clientId=…`): it sends `progress {value, max, prompt_id}` while a
/// sampler runs, `executing {node: null, prompt_id}` when a prompt is done, and
/// `execution_interrupted` or `execution_error {exception_message}` when it stopped early. This
/// keeps the newest fraction, the "done" flag and the early stop for the polling loop to read;
/// if the socket cannot be opened, the loop simply polls.
final class ComfyUIProgressSocket: Sendable {
    private struct State {
        var fraction: Double?
        var finished = false
        var stopped: Stop?
        var socket: WebSocket?
        var closed = false
    }

    /// How the run ended early, as the server announced it.
    enum Stop: Equatable {
        /// Interrupted (an operator's interrupt, or our own cancel).
        case interrupted
        /// A node failed; ComfyUI's `exception_message`.
        case error(String)
    }

    private let state = Mutex(State())
    let promptID: String

    private init(promptID: String) {
        self.promptID = promptID
    }

    /// Connects before the prompt is queued (ComfyUI sends a client's messages only to it).
    static func open(baseURL: URL, clientID: String, promptID: String) async -> ComfyUIProgressSocket? {
        guard var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false) else { return nil }
        components.scheme = baseURL.scheme == "https" ? "wss" : "ws"
        components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + "/ws"
        components.queryItems = [URLQueryItem(name: "clientId", value: clientID)]
        guard let url = components.url else { return nil }
        let listener = ComfyUIProgressSocket(promptID: promptID)
        let connected = WebSocket.connect(to: url, on: MultiThreadedEventLoopGroup.singleton) { socket in
            // Opened after Pictor stopped waiting for it: close it at once.
            let late = listener.state.withLock { state -> Bool in
                state.socket = socket
                return state.closed
            }
            if late { _ = socket.close() } else { socket.onText { _, text in listener.handle(text) } }
        }
        // A server that never answers the upgrade must not hold the generation: after 3 s, poll
        // instead (the connect future cannot be cancelled, so it is raced, not awaited).
        let decided = OnceFlag()
        let opened: Bool = await withCheckedContinuation { continuation in
            connected.whenComplete { result in
                if decided.claim() { continuation.resume(returning: (try? result.get()) != nil) }
            }
            Task {
                try? await Task.sleep(for: .seconds(3))
                if decided.claim() { continuation.resume(returning: false) }
            }
        }
        if !opened { listener.close() }
        return opened ? listener : nil
    }

    var fraction: Double? { state.withLock { $0.fraction } }
    var finished: Bool { state.withLock { $0.finished } }
    var stopped: Stop? { state.withLock { $0.stopped } }

    func close() {
        let socket = state.withLock { state -> WebSocket? in
            state.closed = true
            return state.socket
        }
        if let socket { _ = socket.close() }
    }

    func handle(_ text: String) {
        guard let message = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let type = message["type"] as? String, let data = message["data"] as? [String: Any],
            (data["prompt_id"] as? String) == promptID
        else { return }
        switch type {
        case "progress":
            guard let value = data["value"] as? Double, let max = data["max"] as? Double, max > 0 else { return }
            state.withLock { $0.fraction = min(value / max, 1) * 0.95 }
        case "executing" where data["node"] is NSNull, "execution_success":
            state.withLock { $0.finished = true }
        case "execution_interrupted":
            state.withLock { $0.stopped = .interrupted }
        case "execution_error":
            let message = (data["exception_message"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines)
            state.withLock { $0.stopped = .error(message.flatMap { $0.isEmpty ? nil : $0 } ?? "execution error") }
        default:
            return
        }
    }
}

/// True for the first caller only.
final class OnceFlag: Sendable {
    private let taken = Mutex(false)

    func claim() -> Bool {
        taken.withLock { taken in
            defer { taken = true }
            return !taken
        }
    }
}
