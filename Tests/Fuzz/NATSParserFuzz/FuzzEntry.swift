@_spi(Fuzzing) import NATS

#if FUZZING
#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's driver, called from our own `main` because SwiftPM owns an executable's entry point.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The callback libFuzzer's runtime expects to find by name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    NATSProtocolFuzzing.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Built by `make fuzz` with `-sanitize=fuzzer,address -DFUZZING`: libFuzzer feeds the parser.
@main
enum ParserFuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
    }
}
#else
import Foundation

/// Without libFuzzer: replays the files or folders named on the command line (a corpus or a crash reproducer).
@main
enum ParserFuzzReplay {
    static func main() {
        var replayed = 0
        for path in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { "\(path)/\($0)" }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes { NATSProtocolFuzzing.check($0) }
                replayed += 1
            }
        }
        print("replayed \(replayed) inputs without a crash")
    }
}
#endif
