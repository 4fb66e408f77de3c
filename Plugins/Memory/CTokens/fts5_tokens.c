#include "jamey_fts5_tokens.h"

#include <pthread.h>
#include <sqlite3.h>

// The tokenizer's module, found through a private in-memory connection that stays open for the
// life of the process, so the module's user data (owned by that connection) stays valid.
static sqlite3 *tokens_db;
static fts5_tokenizer unicode61;
static void *unicode61_data;
static int tokens_state = -1;
static pthread_once_t tokens_once = PTHREAD_ONCE_INIT;

static void tokens_find(void) {
    if (sqlite3_open_v2(":memory:", &tokens_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) return;
    fts5_api *api = NULL;
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(tokens_db, "SELECT fts5(?1)", -1, &statement, NULL) != SQLITE_OK) return;
    sqlite3_bind_pointer(statement, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(statement);
    sqlite3_finalize(statement);
    if (api == NULL || api->iVersion < 2) return;
    if (api->xFindTokenizer(api, "unicode61", &unicode61_data, &unicode61) != SQLITE_OK) return;
    tokens_state = 0;
}

int jamey_fts5_tokens_ready(void) {
    pthread_once(&tokens_once, tokens_find);
    return tokens_state;
}

struct token_sink {
    void *context;
    jamey_fts5_token_fn fn;
};

static int on_token(void *sink, int flags, const char *token, int length, int start, int end) {
    (void)start;
    (void)end;
    // Colocated tokens (FTS5_TOKEN_COLOCATED) come only from synonym tokenizers, not unicode61.
    if (flags & FTS5_TOKEN_COLOCATED) return SQLITE_OK;
    struct token_sink *s = sink;
    return s->fn(s->context, token, length) == 0 ? SQLITE_OK : SQLITE_ABORT;
}

int jamey_fts5_tokenize(const char *text, size_t length, void *context, jamey_fts5_token_fn fn) {
    if (jamey_fts5_tokens_ready() != 0 || length > 0x7fffffff) return -1;
    // The plugin's FTS5 table: tokenize='unicode61 remove_diacritics 2'.
    const char *arguments[] = {"remove_diacritics", "2"};
    Fts5Tokenizer *tokenizer = NULL;
    if (unicode61.xCreate(unicode61_data, arguments, 2, &tokenizer) != SQLITE_OK) return -1;
    struct token_sink sink = {context, fn};
    int rc = unicode61.xTokenize(tokenizer, &sink, FTS5_TOKENIZE_DOCUMENT, text, (int)length, on_token);
    unicode61.xDelete(tokenizer);
    return rc == SQLITE_OK ? 0 : -1;
}
