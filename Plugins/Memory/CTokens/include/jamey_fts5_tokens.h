// The memory plugin's use of SQLite's own FTS5 tokenizer: `unicode61 remove_diacritics 2`,
// the tokenizer of the plugin's FTS5 table, run on a text outside any table, so the plugin's
// in-memory indexes (the pending tail, the impact postings) split non-ASCII text exactly as
// FTS5 does (case folding and diacritic removal by SQLite's tables, not Swift's).
#ifndef JAMEY_FTS5_TOKENS_H
#define JAMEY_FTS5_TOKENS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Receives one token (UTF-8, not NUL-terminated); returns 0 to go on.
typedef int (*jamey_fts5_token_fn)(void *context, const char *token, int length);

/// Finds the tokenizer (once per process; later calls return the first result).
/// Returns 0 when it is available, -1 when this SQLite has no FTS5 or no unicode61.
int jamey_fts5_tokens_ready(void);

/// Tokenizes `length` bytes of UTF-8 `text` as an FTS5 document, calling `fn` for each token in
/// order. Thread-safe (each call makes its own tokenizer instance). Returns 0, or -1 when the
/// tokenizer is not available or failed.
int jamey_fts5_tokenize(const char *text, size_t length, void *context, jamey_fts5_token_fn fn);

#ifdef __cplusplus
}
#endif

#endif
