import Foundation
import NIOConcurrencyHelpers
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Blobs as files under a root directory. A write goes to a temporary file in
/// `<root>/.partial/`, is flushed to disk, then renamed over the final path and the
/// folder flushed, so readers never see a half-written blob, a crash leaves at most a
/// temporary file (which `list` ignores and `removeStalePartials` clears), and a blob
/// whose write returned survives a power cut, name included.
public struct LocalBlobStore: BlobStore {
    public let root: URL
    private var partialDirectory: URL { root.appendingPathComponent(".partial", isDirectory: true) }

    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: partialDirectory, withIntermediateDirectories: true)
        } catch {
            throw BlobStoreError.ioFailure(operation: "create \(root.path)", detail: "\(error)")
        }
    }

    /// The threads that open, write, flush and rename files. Writing blocks, and `fsync` waits
    /// for the disk (1–2 ms here): with NIO's one thread per core only two flushes could be
    /// under way at once, while the disk completes more the more it is given (measured on
    /// this machine: 1,141 flushes/s from 2 threads, 1,786/s from 8, 2,089/s from 16).
    static let fileThreads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    public func put(_ data: Data, at key: BlobKey) async throws {
        // Done on the file threads in one trip, so the threads that run Swift tasks keep
        // running them meanwhile.
        let file = PartialFile(store: self, key: key)
        let root = root
        try await Self.fileThreads.runIfActive {
            do {
                try file.writeWhole(data)
                try PartialFile.place([file], root: root)
            } catch {
                file.abandon()
                throw error
            }
        }
    }

    /// Each blob goes to a temporary file of its own and is flushed, all at once on the file
    /// threads (a flush waits for the disk, and the disk takes several at a time); then, in one
    /// trip, each is renamed to its key and each folder they went to is flushed once.
    public func put(all blobs: [(key: BlobKey, data: Data)]) async throws {
        let files = blobs.map { PartialFile(store: self, key: $0.key) }
        let pool = Self.fileThreads
        let root = root
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (file, blob) in zip(files, blobs) {
                    group.addTask {
                        try await pool.runIfActive { try file.writeWhole(blob.data) }
                    }
                }
                try await group.waitForAll()
            }
            try await pool.runIfActive { try PartialFile.place(files, root: root) }
        } catch {
            for file in files { file.abandon() }
            throw error
        }
    }

    public func put(chunks: some AsyncSequence<Data, any Error> & Sendable, at key: BlobKey) async throws {
        let file = PartialFile(store: self, key: key)
        let pool = Self.fileThreads
        let root = root
        try await pool.runIfActive { try file.create() }
        do {
            for try await chunk in chunks {
                try await pool.runIfActive { try file.append(chunk) }
            }
            try await pool.runIfActive {
                try file.flush()
                try PartialFile.place([file], root: root)
            }
        } catch {
            file.abandon()
            throw error
        }
    }

    public func get(_ key: BlobKey) async throws -> Data {
        let path = url(for: key).path
        return try await Self.fileThreads.runIfActive {
            guard FileManager.default.fileExists(atPath: path) else { throw BlobStoreError.notFound(key.rawValue) }
            do {
                return try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw BlobStoreError.ioFailure(operation: "read", detail: "\(error)")
            }
        }
    }

    public func exists(_ key: BlobKey) async throws -> Bool {
        FileManager.default.fileExists(atPath: url(for: key).path)
    }

    public func delete(_ key: BlobKey) async throws {
        guard unlink(url(for: key).path) == 0 || errno == ENOENT else { throw posixFailure("delete") }
    }

    public func entries(prefix: String) async throws -> [StoredBlob] {
        // A walk of the whole tree (the maintenance sweep's): on the file threads too.
        let root = root
        return try await Self.fileThreads.runIfActive { Self.walk(root, prefix: prefix) }
    }

    private static func walk(_ root: URL, prefix: String) -> [StoredBlob] {
        let properties: [URLResourceKey] = [.isRegularFileKey, .contentModificationDateKey]
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: properties, options: [.skipsHiddenFiles])
        else { return [] }
        let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        var blobs: [StoredBlob] = []
        for case let file as URL in walker {
            guard let values = try? file.resourceValues(forKeys: Set(properties)), values.isRegularFile == true else { continue }
            let relative = String(file.standardizedFileURL.path.dropFirst(rootPath.count))
            if relative.hasPrefix(prefix), let key = try? BlobKey(relative) {
                blobs.append(StoredBlob(key: key, modified: values.contentModificationDate ?? .distantFuture))
            }
        }
        return blobs.sorted { $0.key.rawValue < $1.key.rawValue }
    }

    /// Deletes temporary files older than `age` left by a process that died mid-write (the
    /// maintenance sweep calls it); on the file threads.
    public func removeStalePartials(olderThan age: TimeInterval, now: Date = Date()) async throws -> Int {
        let directory = partialDirectory
        return try await Self.fileThreads.runIfActive {
            let files =
                (try? FileManager.default.contentsOfDirectory(
                    at: directory, includingPropertiesForKeys: [.contentModificationDateKey])) ?? []
            var removed = 0
            for file in files {
                let modified = (try? file.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? now
                if now.timeIntervalSince(modified) > age, unlink(file.path) == 0 { removed += 1 }
            }
            return removed
        }
    }

    /// The file for a key. `BlobKey` has already refused `..`, dot-segments and
    /// absolute paths, so the result always lies under `root`.
    func url(for key: BlobKey) -> URL {
        root.appendingPathComponent(key.rawValue, isDirectory: false)
    }

    /// A fresh temporary file name in `.partial/`, different on every call.
    fileprivate func newPartialPath() -> String { partialDirectory.appendingPathComponent(UUID().uuidString).path }
}

/// One blob being written: a temporary file in `.partial/`, flushed by `flush`, renamed to its
/// key by `place` (with the folder it went to flushed as well, so that the name outlives a
/// power cut, not only the bytes), or removed by `abandon`. Its calls block; callers run them
/// on a thread pool, one at a time.
private final class PartialFile: @unchecked Sendable {
    private let temporary: String
    private let destination: URL
    private var descriptor: Int32 = -1
    private var placed = false

    init(store: LocalBlobStore, key: BlobKey) {
        temporary = store.newPartialPath()
        destination = store.url(for: key)
    }

    func create() throws {
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw posixFailure("create \(URL(fileURLWithPath: temporary).lastPathComponent)") }
    }

    func append(_ data: Data) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw posixFailure("write")
                }
                offset += written
            }
        }
    }

    /// The whole blob at once: creates the file, writes `data`, flushes and closes it.
    func writeWhole(_ data: Data) throws {
        try create()
        try append(data)
        try flush()
    }

    /// Flushes the bytes to disk and closes the file.
    func flush() throws {
        guard fsync(descriptor) == 0 else { throw posixFailure("flush") }
        close(descriptor)
        descriptor = -1
    }

    /// Renames each flushed file to its key, then flushes each folder that received one, once.
    /// A folder this process has not flushed before (new, or made by another writer, or left by
    /// a process that died before flushing it) is flushed with every folder above it up to
    /// `root`, since each folder's name lives in the one above it; folders are made only when a
    /// rename says one is missing.
    static func place(_ files: [PartialFile], root: URL) throws {
        var folders: Set<String> = []
        for file in files {
            folders.insert(try file.moveToKey())
        }
        for folder in folders.sorted() {
            try syncFolder(folder)
            if !flushedFolders.withLockedValue({ $0.contains(folder) }) {
                var above = URL(fileURLWithPath: folder).deletingLastPathComponent()
                while above.path.hasPrefix(root.path) {
                    try syncFolder(above.path)
                    if above.path == root.path { break }
                    above = above.deletingLastPathComponent()
                }
                flushedFolders.withLockedValue { _ = $0.insert(folder) }
            }
        }
    }

    /// Folders whose names this process has flushed all the way up to the root (one per user).
    private static let flushedFolders = NIOLockedValueBox<Set<String>>([])

    /// Renames the file to its key; returns the folder it went to.
    private func moveToKey() throws -> String {
        let folder = destination.deletingLastPathComponent()
        if rename(temporary, destination.path) != 0 {
            guard errno == ENOENT else { throw posixFailure("rename") }
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            guard rename(temporary, destination.path) == 0 else { throw posixFailure("rename") }
        }
        placed = true
        return folder.path
    }

    private static func syncFolder(_ path: String) throws {
        let folder = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { throw posixFailure("open folder") }
        defer { close(folder) }
        guard fsync(folder) == 0 else { throw posixFailure("flush folder") }
    }

    /// Undoes what was done after a failure: closes and removes the temporary file, or removes
    /// the blob if it was already renamed (a caller that got an error must not find it stored).
    func abandon() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        if placed {
            unlink(destination.path)
            placed = false
        } else {
            unlink(temporary)
        }
    }
}

private func posixFailure(_ operation: String) -> BlobStoreError {
    .ioFailure(operation: operation, detail: String(cString: strerror(errno)))
}

/// One chunk as an async sequence, so `put(_ data:)` shares the streaming path.
struct SingleChunk: AsyncSequence, Sendable {
    typealias Element = Data
    let data: Data

    struct AsyncIterator: AsyncIteratorProtocol {
        var data: Data?
        mutating func next() async throws -> Data? {
            defer { data = nil }
            return data
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(data: data) }
}
