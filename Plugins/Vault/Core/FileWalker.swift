import Foundation

/// Lists a source's directories, files and links in a stable order, with their metadata.
enum FileWalker {
    struct Item {
        var url: URL
        var entry: FileEntry
    }

    static func walk(_ source: BackupSource) throws -> [Item] {
        let excluded = Set(source.exclude.map { $0.standardizedFileURL.path })
        var items: [Item] = []
        func visit(_ url: URL, relative: String) throws {
            guard !excluded.contains(url.standardizedFileURL.path) else { return }
            let attributes: [FileAttributeKey: Any]
            do {
                attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            } catch {
                throw VaultError(.io, "cannot read \(url.path): \(error.localizedDescription)")
            }
            let type = attributes[.type] as? FileAttributeType
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o644
            let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            var entry = FileEntry(source: source.name, path: relative, type: "file", size: 0, mode: mode, mtime: mtime)
            switch type {
            case .typeDirectory?:
                entry.type = "dir"
                items.append(Item(url: url, entry: entry))
                let names = try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
                for name in names where !name.hasSuffix("-shm") {
                    try visit(url.appendingPathComponent(name), relative: relative.isEmpty ? name : relative + "/" + name)
                }
            case .typeSymbolicLink?:
                entry.type = "symlink"
                entry.target = try FileManager.default.destinationOfSymbolicLink(atPath: url.path)
                items.append(Item(url: url, entry: entry))
            case .typeRegular?:
                items.append(Item(url: url, entry: entry))
            default:
                break
            }
        }
        guard FileManager.default.fileExists(atPath: source.url.path) else {
            throw VaultError(.notFound, "source \(source.name): \(source.url.path) does not exist")
        }
        try visit(source.url, relative: "")
        return items
    }

    static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw VaultError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
    }
}
