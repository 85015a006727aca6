import Domain
import Foundation

/// Coverage-guided fuzzing of the parsers that read outside bytes: numbers, days, sizes, page
/// cursors, `Idempotency-Key`, a multipart body's boundary and part count, the models file and
/// the packs file.
/// The first byte picks the parser; the rest is its input. Each parser must return (a value or
/// nil, or throw its error) without trapping, and what it returns must hold its promise (a
/// number within its range, a size that reads back the same). `make fuzz` builds this with
/// libFuzzer (`-sanitize=fuzzer`, `FUZZING` defined); built normally, it replays files given on
/// the command line, so the saved corpus stays a regression check.
enum FuzzTarget {
    static func run(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let rest = Array(bytes.dropFirst())
        let text = String(decoding: rest, as: UTF8.self)
        switch selector % 8 {
        case 0:
            if let value = BoundedNumber.parse(text, in: -5...1_000) { precondition((0...1_000).contains(value)) }
            if let value = BoundedNumber.parse(text, in: 0...Int.max) { precondition(value >= 0 && String(value).count <= 18) }
        case 1:
            if let day = CalendarDay(iso: text) {
                precondition((1...9999).contains(day.year) && (1...12).contains(day.month) && (1...31).contains(day.day))
            }
        case 2:
            if let size = ImageSize(text: text) {
                precondition(size.width >= 1 && size.height >= 1 && size.width <= ImageSize.maxSide && size.height <= ImageSize.maxSide)
                _ = size.width * size.height  // the product a pixel check computes
                precondition(ImageSize(text: size.description) == size)
            }
        case 3:
            if let (milliseconds, id) = CursorToken.parse(text) {
                precondition((0...CursorToken.maxMilliseconds).contains(milliseconds))
                _ = Int64((Date(timeIntervalSince1970: Double(milliseconds) / 1000).timeIntervalSince1970 - 946_684_800) * 1_000_000)
                precondition(CursorToken.parse(CursorToken.make(milliseconds: Int64(milliseconds), id: id))?.id == id)
            }
        case 4:
            if IdempotencyKeyRule.isValid(text) { precondition(!text.isEmpty && text.utf8.count <= 255) }
        case 5:
            // The boundary is the input up to the first newline; the body is the rest.
            let split = rest.firstIndex(of: 0x0A) ?? rest.endIndex
            let boundary = MultipartShape.boundary(fromParameter: String(decoding: rest[..<split], as: UTF8.self))
            let body = Array(rest[min(split + 1, rest.endIndex)...])
            let parts = MultipartShape.partCount(in: body, boundary: boundary ?? "b", limit: 8)
            precondition((0...9).contains(parts))
            if let token = MultipartShape.leadingField(named: "_csrf", in: body, boundary: boundary ?? "b") {
                precondition(token.utf8.count <= 256 * 3)  // bytes read, each at most a 3-byte replacement
            }
        case 7:
            if let packs = try? PacksFile.parse(text) {
                for pack in packs {
                    precondition((1...1_000_000).contains(pack.credits) && (1...100_000_000).contains(pack.amountMinor))
                    _ = pack.priceText
                    _ = pack.amountMinor * Int64(pack.credits)  // the widest product a refund computes
                }
            }
        default:
            let files = ["w.json": #"{"1":{"inputs":{"text":"{{prompt}}"}}}"#]
            _ = try? ModelsFile.parse(text, environment: ["K": "key"]) { name in
                guard let file = files[name] else { throw CocoaError(.fileNoSuchFile) }
                return file
            }
        }
    }
}

#if FUZZING
    /// libFuzzer's driver, run from our own entry point (SwiftPM names an executable's entry
    /// `pictor_fuzz_main` and points `main` at it, so libFuzzer's own `main` is not linked in).
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// One input (libFuzzer's runtime also looks for this symbol by name).
    @_cdecl("LLVMFuzzerTestOneInput")
    func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        FuzzTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }

    @_cdecl("pictor_fuzz_main")
    func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments, fuzzOneInput)
    }
#else
    /// Replays saved inputs: `pictor-fuzz FILE…` (a folder's files too).
    @main struct FuzzReplay {
        static func main() throws {
            var count = 0
            for path in CommandLine.arguments.dropFirst() {
                var isFolder: ObjCBool = false
                FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
                let files =
                    isFolder.boolValue
                    ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 } : [path]
                for file in files {
                    FuzzTarget.run(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
                    count += 1
                }
            }
            print("pictor-fuzz: replayed \(count) inputs without a crash")
        }
    }
#endif
