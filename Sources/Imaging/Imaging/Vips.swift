import CVipsShim
import Foundation
import Synchronization

/// libvips, started once per process.
public enum Vips {
    private static let state = Mutex<Result<Void, ImagingError>?>(nil)

    /// Starts libvips if it is not running yet, with `threads` worker threads per
    /// operation. Safe from any thread; the first call's settings win.
    public static func start(threads: Int = 1) throws(ImagingError) {
        let result = state.withLock { current -> Result<Void, ImagingError> in
            if let current { return current }
            let argv0 = CommandLine.arguments.first ?? "pictor"
            let started: Result<Void, ImagingError> =
                pictor_vips_start(argv0, Int32(threads)) == 0 ? .success(()) : .failure(.notStarted)
            current = started
            return started
        }
        try result.get()
    }

    /// The message libvips left for the last failed call, then cleared.
    static func takeError() -> String {
        guard let message = pictor_vips_take_error() else { return "unknown libvips error" }
        defer { pictor_vips_free(message) }
        let text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "unknown libvips error" : text
    }
}
