import Foundation

/// A parsed age header: its stanzas, its MAC, and where the MAC input and the payload start.
struct AgeHeader {
    var stanzas: [AgeStanza] = []
    var mac = Data()
    /// Bytes covered by the MAC: the header up to and including `---`.
    var macInputLength = 0
    /// Bytes of the whole header including the MAC line's newline.
    var length = 0

    init(parsing file: Data) throws {
        func fail(_ why: String) -> VaultError { VaultError(.decrypt, "age header: \(why)") }
        guard file.starts(with: Data(Age.intro.utf8)) else { throw fail("not an age v1 file (no 'age-encryption.org/v1' line)") }
        var position = file.startIndex + Age.intro.utf8.count
        func nextLine() throws -> Substring {
            guard let end = file[position...].prefix(4096).firstIndex(of: 0x0A) else { throw fail("line too long or missing") }
            let line = String(decoding: file[position..<end], as: UTF8.self)
            let start = position
            position = end + 1
            _ = start
            return Substring(line)
        }
        var line = try nextLine()
        while line.hasPrefix("-> ") {
            let parts = line.dropFirst(3).split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard let type = parts.first, !type.isEmpty, !parts.contains(where: \.isEmpty) else {
                throw fail("empty stanza argument")
            }
            var body = ""
            while true {
                let bodyLine = try nextLine()
                guard bodyLine.count <= 64 else { throw fail("stanza body line longer than 64 columns") }
                body += bodyLine
                if bodyLine.count < 64 { break }
            }
            guard let decoded = Base64Raw.decode(Substring(body)) else { throw fail("stanza body is not canonical base64") }
            stanzas.append(AgeStanza(type: type, arguments: Array(parts.dropFirst()), body: decoded))
            line = try nextLine()
        }
        guard line.hasPrefix("--- "), let mac = Base64Raw.decode(line.dropFirst(4)), mac.count == 32 else {
            throw fail("missing or malformed '--- MAC' line")
        }
        guard !stanzas.isEmpty else { throw fail("no recipient stanza") }
        self.mac = mac
        length = position - file.startIndex
        macInputLength = length - line.utf8.count - 1 + 3
    }
}
