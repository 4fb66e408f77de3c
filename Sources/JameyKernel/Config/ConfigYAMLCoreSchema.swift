/// Resolution of plain YAML scalars by the YAML 1.2 core schema.
///
/// `null`, `Null`, `NULL`, `~` and the empty scalar are null; `true`/`True`/`TRUE` and
/// `false`/`False`/`FALSE` are booleans; decimal (`[-+]?[0-9]+`), octal (`0o17`) and hexadecimal
/// (`0x1F`) integers are integers; decimal floats with optional exponent, `.inf`, `-.inf` and `.nan`
/// are doubles; everything else is a string. YAML 1.1 spellings such as `yes`, `no`, `on`, `off`
/// are strings.
enum ConfigYAMLCoreSchema {
    /// What a plain scalar resolves to.
    enum Resolution: Equatable {
        case value(ConfigValue)
        /// Integer syntax whose value does not fit in 64 bits.
        case integerOverflow
    }

    /// Resolves a plain scalar's text.
    static func resolve(_ text: String) -> Resolution {
        switch text {
        case "", "~", "null", "Null", "NULL": return .value(.null)
        case "true", "True", "TRUE": return .value(.bool(true))
        case "false", "False", "FALSE": return .value(.bool(false))
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .value(.double(.infinity))
        case "-.inf", "-.Inf", "-.INF": return .value(.double(-.infinity))
        case ".nan", ".NaN", ".NAN": return .value(.double(.nan))
        default: break
        }
        if let integer = resolveInteger(text) { return integer }
        if isFloat(text), let number = Double(text) { return .value(.double(number)) }
        return .value(.string(text))
    }

    private static func resolveInteger(_ text: String) -> Resolution? {
        let utf8 = Array(text.utf8)
        func digits(_ bytes: ArraySlice<UInt8>, where valid: (UInt8) -> Bool) -> Bool {
            !bytes.isEmpty && bytes.allSatisfy(valid)
        }
        let isDecimal: (UInt8) -> Bool = { $0 >= 0x30 && $0 <= 0x39 }
        let radix: Int
        let body: Substring
        if utf8.count > 2, utf8[0] == 0x30, utf8[1] == 0x6F,  // "0o"
            digits(utf8[2...], where: { $0 >= 0x30 && $0 <= 0x37 })
        {
            radix = 8
            body = text.dropFirst(2)
        } else if utf8.count > 2, utf8[0] == 0x30, utf8[1] == 0x78,  // "0x"
            digits(utf8[2...], where: { isDecimal($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) })
        {
            radix = 16
            body = text.dropFirst(2)
        } else {
            let unsigned = (utf8.first == 0x2B || utf8.first == 0x2D) ? utf8.dropFirst() : utf8[...]
            guard digits(unsigned, where: isDecimal) else { return nil }
            radix = 10
            body = text.first == "+" ? text.dropFirst() : text[...]
        }
        guard let value = Int64(body, radix: radix) else { return .integerOverflow }
        return .value(.int(value))
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isFloat(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        func takeDigits() -> Int {
            var count = 0
            while let byte = bytes.first, isDigit(byte) { bytes = bytes.dropFirst(); count += 1 }
            return count
        }
        if bytes.first == 0x2B || bytes.first == 0x2D { bytes = bytes.dropFirst() }
        let integerDigits = takeDigits()
        var fractionDigits = 0
        var hasDot = false
        if bytes.first == 0x2E {
            hasDot = true
            bytes = bytes.dropFirst()
            fractionDigits = takeDigits()
        }
        if integerDigits == 0 && fractionDigits == 0 { return false }
        if integerDigits == 0 && !hasDot { return false }
        if bytes.first == 0x65 || bytes.first == 0x45 {
            bytes = bytes.dropFirst()
            if bytes.first == 0x2B || bytes.first == 0x2D { bytes = bytes.dropFirst() }
            if takeDigits() == 0 { return false }
        }
        return bytes.isEmpty
    }
}
