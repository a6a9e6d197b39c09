import XYCore

extension XYErrorCode {
    /// The vendor sent a message (its fragments together) over `UPSTREAM_MAX_MESSAGE_BYTES`: the
    /// connection is closed with 1009 and made again, so no vendor can grow the reassembly buffer.
    public static let upstreamMessageTooLarge = XYErrorCode(rawValue: "XYW109")
}

extension XYErrorCode {
    /// A message on `xy.ctl.lease.<instance>` that is no `SymbolLease`, names another instance than
    /// its subject, or is empty of an instance: dropped and counted, the leases held stay as they were.
    public static let upstreamLeaseMalformed = XYErrorCode(rawValue: "XYW110")
}
