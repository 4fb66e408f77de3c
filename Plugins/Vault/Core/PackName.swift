import Crypto
import Foundation

extension Age {
    /// Names a pack: the SHA-256 (hex) of a label, the file's age header and payload nonce, the
    /// Poly1305 tag that ends each 64 KiB segment, and the file's length.
    ///
    /// Hashing every byte of every pack, as restic does, was a second full pass over the data and
    /// about a fifth of a backup's CPU (with the pack's sealing then the slowest stage of the
    /// pipeline). The tags already authenticate each segment's ciphertext under the pack's file key,
    /// so the name still pins the file for everyone who does not hold that key: a change to the
    /// header, the nonce, a tag or the length changes the name, and a change to any other byte fails
    /// authentication when the pack is opened (``RepositoryReader`` reports both as `pack-altered`).
    /// What the name no longer allows is checking a pack's body without the identity.
    static func packName(_ file: Data) throws -> String {
        let header = try AgeHeader(parsing: file)
        let payload = header.length + 16
        guard file.count >= payload + tagSize else { throw VaultError(.decrypt, "age payload: truncated") }
        var digest = SHA256()
        digest.update(data: Data(packNameLabel.utf8))
        file.withUnsafeBytes { raw in
            digest.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[0..<payload]))
            var end = payload
            repeat {
                end = min(end + segmentSize + tagSize, raw.count)
                digest.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[end - tagSize..<end]))
            } while end < raw.count
        }
        withUnsafeBytes(of: UInt64(file.count).littleEndian) { digest.update(bufferPointer: $0) }
        return Data(digest.finalize()).hex
    }

    /// Whether `file` is the pack named `name`: by ``packName(_:)``, or, for packs written before
    /// names covered only the tags, by the SHA-256 of the whole file.
    static func isPack(_ file: Data, named name: String) -> Bool {
        (try? packName(file)) == name || file.sha256Hex == name
    }

    private static let packNameLabel = "jamey-vault pack name v2\n"
}
