/// buf's four breaking-change categories, strictest first; choosing one selects every rule buf
/// puts in it (`--category`).
public enum BreakingCategory: String, CaseIterable, Sendable {
    /// Generated code per file: nothing moves between files (buf's default, and ours).
    case file = "FILE"
    /// Generated code per package: types may move between files of one package.
    case package = "PACKAGE"
    /// Binary and JSON encodings: names used by JSON stay, numbers stay.
    case wireJSON = "WIRE_JSON"
    /// Binary encoding only: numbers and wire types stay.
    case wire = "WIRE"
}
