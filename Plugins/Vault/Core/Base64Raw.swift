import Foundation

/// Unpadded standard base64, as the age header uses it (canonical encodings only).
enum Base64Raw {
    static func encode(_ bytes: some DataProtocol) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func decode(_ text: Substring) -> Data? {
        guard !text.contains("="), !text.contains("\r") else { return nil }
        var padded = String(text)
        while padded.count % 4 != 0 { padded += "=" }
        guard let data = Data(base64Encoded: padded), encode(data) == text else { return nil }
        return data
    }
}
