import CJameyTokens
import MemoryCore

/// SQLite's own FTS5 tokenizer (`unicode61 remove_diacritics 2`, the plugin's FTS5 table's),
/// installed as ``TermCounts/tokenizer`` so non-ASCII text splits in memory exactly as FTS5
/// splits it: the pending tail then answers searches for non-ASCII words without merging first,
/// and the impact postings of non-ASCII terms count what FTS5 counts.
enum FTS5Tokenizer {
    /// Installs the tokenizer when this SQLite has it (once; later calls do nothing more).
    static func install() {
        guard TermCounts.tokenizer == nil, jamey_fts5_tokens_ready() == 0 else { return }
        TermCounts.tokenizer = tokens
    }

    /// The tokens of `text`, or nil when SQLite failed.
    @Sendable static func tokens(_ text: String) -> [String]? {
        final class Sink {
            var tokens: [String] = []
        }
        let sink = Sink()
        var text = text
        let status = text.withUTF8 { bytes in
            withExtendedLifetime(sink) {
                jamey_fts5_tokenize(
                    bytes.baseAddress, bytes.count, Unmanaged.passUnretained(sink).toOpaque()
                ) { context, token, length in
                    guard let context, let token else { return 1 }
                    let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                    sink.tokens.append(
                        String(decoding: UnsafeRawBufferPointer(start: token, count: Int(length)), as: UTF8.self))
                    return 0
                }
            }
        }
        return status == 0 ? sink.tokens : nil
    }
}
