import Foundation

/// What an online restore of several sources has done, kept in `<data_dir>/vault/restore.json`
/// while it runs: a process killed part way leaves some plugins restored and the others not,
/// each whole, and this file says which at the next start (the vault's health then says so too,
/// until a restore completes).
struct RestoreJournal: Codable, Sendable {
    /// The snapshot being restored.
    var snapshot: String
    /// The sources to restore online, in order.
    var sources: [String]
    /// Those restored so far.
    var restored: [String] = []
    /// When the restore began.
    var began: Date

    static func url(in directory: URL) -> URL { directory.appendingPathComponent("restore.json") }

    /// Writes the journal (whole, by rename).
    func save(in directory: URL) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(self) else { return }
        try? data.write(to: Self.url(in: directory), options: .atomic)
    }

    /// Removes the journal: the restore ended and its caller was answered.
    static func clear(in directory: URL) { try? FileManager.default.removeItem(at: url(in: directory)) }

    /// The journal an interrupted restore left, if any.
    static func left(in directory: URL) -> RestoreJournal? {
        guard let data = try? Data(contentsOf: url(in: directory)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(RestoreJournal.self, from: data)
    }

    /// The sentence for the log and health.
    var interruption: String {
        let missing = sources.filter { !restored.contains($0) }
        return
            "an online restore of snapshot \(snapshot.prefix(12)) begun \(ISO8601DateFormatter().string(from: began)) was interrupted: restored \(restored.isEmpty ? "none" : restored.joined(separator: ", ")); not restored \(missing.joined(separator: ", ")) (each plugin is whole, old or new); run the restore again"
    }
}
