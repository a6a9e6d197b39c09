import XYCore

extension XYErrorCode {
    /// The vendor sent a message (its fragments together) over `UPSTREAM_MAX_MESSAGE_BYTES`: the
    /// connection is closed with 1009 and made again, so no vendor can grow the reassembly buffer.
    public static let upstreamMessageTooLarge = XYErrorCode(rawValue: "XYW109")
}
