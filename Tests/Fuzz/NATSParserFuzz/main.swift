#if !FUZZING
import Foundation
@_spi(Fuzzing) import NATS

// Without libFuzzer: replay the files named on the command line (a corpus or a crash reproducer).
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
#endif
