@_spi(Fuzzing) import NATS

/// libFuzzer's entry point (built by `make fuzz` with `-sanitize=fuzzer,address -DFUZZING`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNATSParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    NATSProtocolFuzzing.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
