import Domain
import Vapor

/// Serves the files under `Public/` (styles, scripts, the icon) through Vapor's `FileMiddleware`,
/// and only for addresses that can name one: a GET or HEAD whose path lies under a folder or
/// file that exists there, each segment 1–255 bytes of `[A-Za-z0-9._-]`, naming a regular file.
/// Any other address goes straight to the routes. Asked to look up a segment over 255 bytes, or a
/// path through a file (`/favicon.svg/x`), the file system failed and FileMiddleware threw that as
/// a 500 whose log line carried the server's absolute path; now those reach the routes (404).
struct PublicFilesMiddleware: AsyncMiddleware {
    let files: FileMiddleware
    let directory: String
    /// The first segments of what `Public/` holds (`css`, `js`, `favicon.svg`), read at start.
    let roots: Set<String>

    init(publicDirectory: String) {
        files = FileMiddleware(publicDirectory: publicDirectory)
        directory = publicDirectory.hasSuffix("/") ? publicDirectory : publicDirectory + "/"
        roots = Set((try? FileManager.default.contentsOfDirectory(atPath: publicDirectory)) ?? [])
    }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        // Only an existing regular file goes to FileMiddleware; anything else is the routes'
        // (and their errors stay theirs).
        guard request.method == .GET || request.method == .HEAD, couldName(request.url.path), isFile(request.url.path) else {
            return try await next.respond(to: request)
        }
        return try await files.respond(to: request, chainingTo: next)
    }

    private func isFile(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory + path.dropFirst(), isDirectory: &isFolder) && !isFolder.boolValue
    }

    private func couldName(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard let first = segments.first, roots.contains(String(first)) else { return false }
        return segments.allSatisfy { segment in
            (1...255).contains(segment.utf8.count) && !segment.hasPrefix(".")
                && segment.utf8.allSatisfy { byte in
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                        || byte == 0x2E || byte == 0x5F || byte == 0x2D
                }
        }
    }
}
