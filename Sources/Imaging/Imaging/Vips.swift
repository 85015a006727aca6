import CVipsShim
import Foundation

/// libvips, started once per process.
public enum Vips {
    private static let startResult: Result<Void, ImagingError> = {
        let argv0 = CommandLine.arguments.first ?? "pictor"
        let threads = Int(ProcessInfo.processInfo.environment["IMAGE_THREADS"] ?? "") ?? 1
        guard pictor_vips_start(argv0, Int32(threads)) == 0 else {
            return .failure(.notStarted)
        }
        return .success(())
    }()

    /// Starts libvips if it is not running yet; safe to call from any thread, any number of times.
    public static func start() throws(ImagingError) {
        try startResult.get()
    }

    /// The message libvips left for the last failed call, then cleared.
    static func takeError() -> String {
        guard let message = pictor_vips_take_error() else { return "unknown libvips error" }
        defer { pictor_vips_free(message) }
        let text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "unknown libvips error" : text
    }
}
