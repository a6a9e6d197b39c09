/// The naming styles buf's STANDARD lint asks for.
enum Naming {
    /// `lower_snake_case`: a lower-case letter first, then lower-case letters, digits and single underscores.
    static func isLowerSnakeCase(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLower(first), name.utf8.last != UInt8(ascii: "_"), !name.contains("__") else { return false }
        return name.utf8.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// `UPPER_SNAKE_CASE`.
    static func isUpperSnakeCase(_ name: String) -> Bool {
        guard let first = name.utf8.first, isUpper(first), name.utf8.last != UInt8(ascii: "_"), !name.contains("__") else { return false }
        return name.utf8.allSatisfy { isUpper($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// `PascalCase`: an upper-case letter first, letters and digits after it.
    static func isPascalCase(_ name: String) -> Bool {
        guard let first = name.utf8.first, isUpper(first) else { return false }
        return name.utf8.allSatisfy { isUpper($0) || isLower($0) || isDigit($0) }
    }

    /// A package version component: `v1`, `v2beta1`, `v1alpha`, `v1test`.
    static func isVersion(_ component: String) -> Bool {
        var rest = Substring(component)
        guard rest.first == "v" else { return false }
        rest = rest.dropFirst()
        let major = rest.prefix { $0.isASCII && $0.isNumber }
        guard !major.isEmpty, major.first != "0" else { return false }
        rest = rest.dropFirst(major.count)
        for stage in ["alpha", "beta"] where rest.hasPrefix(stage) {
            let number = rest.dropFirst(stage.count)
            return number.allSatisfy { $0.isASCII && $0.isNumber } && number.first != "0"
        }
        return rest.isEmpty || rest.hasPrefix("test")
    }

    /// `BarInterval` → `BAR_INTERVAL`, `HTTPStatus` → `HTTP_STATUS`: the prefix buf expects on enum values.
    static func upperSnakeCase(_ name: String) -> String {
        let characters = Array(name)
        var result = ""
        for (index, character) in characters.enumerated() {
            if index > 0, character.isUppercase {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) {
                    result.append("_")
                }
            }
            result.append(character)
        }
        return result.uppercased()
    }

    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isUpper(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
