#include "spool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "alloc.h"

/* The schema version this code writes and understands (PRAGMA user_version). */
#define SPOOL_SCHEMA 1
#define SCHEMA_STR(n) SCHEMA_STR_(n)
#define SCHEMA_STR_(n) #n

/* A busy database is retried for this long before "database is locked". */
#define SPOOL_BUSY_MS 10000

static const char schema_sql[] =
	"CREATE TABLE items("
	" id INTEGER PRIMARY KEY,"
	" channel TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" action_id TEXT,"
	" call_id TEXT,"
	" target TEXT,"
	" record TEXT,"
	" payload BLOB NOT NULL,"
	" meta TEXT,"
	" state TEXT NOT NULL CHECK(state IN ('pending','leased','done','dead')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" next_attempt_at INTEGER NOT NULL,"
	" lease_until INTEGER NOT NULL DEFAULT 0,"
	" lease_token INTEGER NOT NULL DEFAULT 0,"
	" last_result TEXT,"
	" UNIQUE(channel, key));"
	"CREATE INDEX items_claim ON items(state, channel, next_attempt_at);"
	"CREATE INDEX items_created ON items(created_at);"
	"CREATE INDEX items_call ON items(call_id, action_id);"
	"CREATE TABLE endpoints("
	" url TEXT PRIMARY KEY,"
	" disabled_at INTEGER NOT NULL,"
	" reason TEXT);"
	"PRAGMA user_version=" SCHEMA_STR(SPOOL_SCHEMA) ";";

/* Column order that row_to_item() reads. */
#define ITEM_COLS "id, channel, key, action_id, call_id, target, record, payload, meta, " \
	"state, attempts, created_at, updated_at, next_attempt_at, lease_until, lease_token, " \
	"last_result"

#define INSERT_ITEM "INSERT INTO items(channel, key, action_id, call_id, target, record, " \
	"payload, meta, state, attempts, created_at, updated_at, next_attempt_at, lease_until, " \
	"lease_token) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'leased', 0, ?9, ?9, ?9, ?10, ?11) "

#define OUTCOME_WHERE " WHERE id=?1 AND lease_token=?2 AND state='leased'"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INSERT,
	ST_UPSERT,
	ST_BY_KEY,
	ST_DUE,
	ST_LEASE,
	ST_DONE,
	ST_RETRY,
	ST_DEAD,
	ST_EP_DISABLE,
	ST_EP_GET,
	ST_EP_ENABLE,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_INSERT] = INSERT_ITEM "ON CONFLICT(channel, key) DO NOTHING "
	    "RETURNING id, attempts, created_at, last_result",
	[ST_UPSERT] = INSERT_ITEM "ON CONFLICT(channel, key) DO UPDATE SET "
	    "action_id=excluded.action_id, call_id=excluded.call_id, target=excluded.target, "
	    "record=excluded.record, payload=excluded.payload, meta=excluded.meta, "
	    "state='leased', updated_at=excluded.updated_at, "
	    "next_attempt_at=excluded.next_attempt_at, lease_until=excluded.lease_until, "
	    "lease_token=excluded.lease_token "
	    "RETURNING id, attempts, created_at, last_result",
	[ST_BY_KEY] = "SELECT " ITEM_COLS " FROM items WHERE channel=?1 AND key=?2",
	/* Two index range scans, each already in (next_attempt_at, id) order,
	 * so a claim never sorts the whole backlog. */
	[ST_DUE] = "SELECT id, next_attempt_at FROM (SELECT id, next_attempt_at FROM items"
	    " WHERE state='pending' AND channel=?1 AND next_attempt_at<=?2"
	    " AND (?4 IS NULL OR action_id=?4)"
	    " ORDER BY next_attempt_at, id LIMIT ?3)"
	    " UNION ALL SELECT id, next_attempt_at FROM (SELECT id, next_attempt_at FROM items"
	    " WHERE state='leased' AND channel=?1 AND lease_until<?2"
	    " AND (?4 IS NULL OR action_id=?4)"
	    " ORDER BY next_attempt_at, id LIMIT ?3)"
	    " ORDER BY 2, 1 LIMIT ?3",
	[ST_LEASE] = "UPDATE items SET state='leased', lease_until=?2, lease_token=?3, "
	    "updated_at=?4 WHERE id=?1 RETURNING " ITEM_COLS,
	[ST_DONE] = "UPDATE items SET state='done', attempts=?3, last_result=?4, updated_at=?5, "
	    "lease_until=0" OUTCOME_WHERE,
	[ST_RETRY] = "UPDATE items SET state='pending', attempts=?3, last_result=?4, "
	    "updated_at=?5, next_attempt_at=?6, lease_until=0" OUTCOME_WHERE,
	[ST_DEAD] = "UPDATE items SET state='dead', attempts=?3, last_result=?4, updated_at=?5, "
	    "lease_until=0" OUTCOME_WHERE,
	[ST_EP_DISABLE] = "INSERT INTO endpoints(url, disabled_at, reason) VALUES(?1, ?2, ?3) "
	    "ON CONFLICT(url) DO UPDATE SET reason=excluded.reason",
	[ST_EP_GET] = "SELECT disabled_at FROM endpoints WHERE url=?1",
	[ST_EP_ENABLE] = "DELETE FROM endpoints WHERE url=?1",
};

/* Filtered statements: one per operation and combination of filter fields,
 * built and prepared on first use so each can use its own index. */
enum { F_LIST, F_COUNT, F_REQUEUE, F_OPS };
enum { FM_CHANNEL = 1, FM_SINCE = 2, FM_CALL = 4, FM_ACTION = 8, FM_STATE = 16, FM_DUE = 32 };
#define F_MASKS 48

struct pca_spool {
	sqlite3 *db;
	char *path;
	bool in_tx;
	sqlite3_stmt *st[ST_COUNT];
	sqlite3_stmt *fst[F_OPS][F_MASKS];
};

static const char *const state_names[] = {
	[PCA_ITEM_PENDING] = "pending",
	[PCA_ITEM_LEASED] = "leased",
	[PCA_ITEM_DONE] = "done",
	[PCA_ITEM_DEAD] = "dead",
};

const char *
pca_item_state_name(enum pca_item_state s)
{
	if ((unsigned)s >= sizeof state_names / sizeof state_names[0])
		return "unknown";
	return state_names[s];
}

static int
parse_state(const char *s, enum pca_item_state *out)
{
	for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++) {
		if (s && strcmp(s, state_names[i]) == 0) {
			*out = (enum pca_item_state)i;
			return 0;
		}
	}
	return -1;
}

/* "path: what: message", with the system's reason when SQLite has one. */
static int
db_fail(struct pca_spool *sp, const char *what, struct pca_err *err)
{
	int code = sqlite3_extended_errcode(sp->db) & 0xff;
	int sys = sqlite3_system_errno(sp->db);

	if (code == SQLITE_NOTADB)
		return pca_err_set(err, "%s: not an SQLite database", sp->path);
	if ((code == SQLITE_CANTOPEN || code == SQLITE_IOERR) && sys != 0)
		return pca_err_set(err, "%s: %s: %s (%s)", sp->path, what,
		    sqlite3_errmsg(sp->db), strerror(sys));
	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		return pca_err_setc(err, "spool_locked", "%s: %s: %s", sp->path, what,
		    sqlite3_errmsg(sp->db));
	return pca_err_set(err, "%s: %s: %s", sp->path, what, sqlite3_errmsg(sp->db));
}

static sqlite3_stmt *
prepare(struct pca_spool *sp, const char *sql, bool keep, struct pca_err *err)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v3(sp->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, &s,
	    NULL) != SQLITE_OK) {
		db_fail(sp, "prepare", err);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

static sqlite3_stmt *
stmt(struct pca_spool *sp, enum stmt_id id, struct pca_err *err)
{
	if (!sp->st[id])
		sp->st[id] = prepare(sp, stmt_sql[id], true, err);
	return sp->st[id];
}

/* Leave a cached statement ready for its next use, dropping pointers to the
 * caller's memory that SQLITE_STATIC bindings hold. */
static void
release(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* 1 for a row, 0 when done, -1 on an error (statement released). */
static int
step(struct pca_spool *sp, sqlite3_stmt *s, const char *what, struct pca_err *err)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	db_fail(sp, what, err);
	release(s);
	return -1;
}

/* Run a statement that returns no rows. */
static int
run(struct pca_spool *sp, enum stmt_id id, const char *what, struct pca_err *err)
{
	sqlite3_stmt *s = stmt(sp, id, err);

	if (!s || step(sp, s, what, err) < 0)
		return -1;
	release(s);
	return 0;
}

static void
rollback(struct pca_spool *sp)
{
	if (!sqlite3_get_autocommit(sp->db))
		run(sp, ST_ROLLBACK, "rollback", NULL);
}

static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (!v)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static int
bind_int(sqlite3_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s, i, v);
}

static int
bind_fail(struct pca_spool *sp, sqlite3_stmt *s, struct pca_err *err)
{
	db_fail(sp, "bind", err);
	release(s);
	return -1;
}

static char *
col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? pca_strdup((const char *)t) : NULL;
}

static int
row_to_item(struct pca_spool *sp, sqlite3_stmt *s, struct pca_spool_item *it,
	struct pca_err *err)
{
	const void *blob;

	memset(it, 0, sizeof *it);
	it->id = sqlite3_column_int64(s, 0);
	if (parse_state((const char *)sqlite3_column_text(s, 9), &it->state) < 0)
		return pca_err_set(err, "%s: item %lld: unknown state", sp->path,
		    (long long)it->id);
	it->channel = col_str(s, 1);
	it->key = col_str(s, 2);
	it->action_id = col_str(s, 3);
	it->call_id = col_str(s, 4);
	it->target = col_str(s, 5);
	it->record = col_str(s, 6);
	blob = sqlite3_column_blob(s, 7);
	pca_buf_add(&it->payload, blob ? blob : "", (size_t)sqlite3_column_bytes(s, 7));
	it->meta = col_str(s, 8);
	it->attempts = sqlite3_column_int(s, 10);
	it->created_at = sqlite3_column_int64(s, 11);
	it->updated_at = sqlite3_column_int64(s, 12);
	it->next_attempt_at = sqlite3_column_int64(s, 13);
	it->lease_until = sqlite3_column_int64(s, 14);
	it->lease_token = sqlite3_column_int64(s, 15);
	it->last_result = col_str(s, 16);
	return 0;
}

void
pca_spool_item_clear(struct pca_spool_item *it)
{
	if (!it)
		return;
	free(it->channel);
	free(it->key);
	free(it->action_id);
	free(it->call_id);
	free(it->target);
	free(it->record);
	pca_buf_free(&it->payload);
	free(it->meta);
	free(it->last_result);
	memset(it, 0, sizeof *it);
}

void
pca_spool_items_free(struct pca_spool_item *items, size_t n)
{
	if (!items)
		return;
	for (size_t i = 0; i < n; i++)
		pca_spool_item_clear(&items[i]);
	free(items);
}

/* A fencing token: random so that a token from an earlier lease, or from
 * another item, is never mistaken for the current one; 0 means "none". */
static int
new_token(struct pca_spool *sp, int64_t *tok, struct pca_err *err)
{
	unsigned char b[sizeof *tok];

	do {
		if (RAND_bytes(b, (int)sizeof b) != 1)
			return pca_err_set(err, "%s: no random bytes for a lease token",
			    sp->path);
		memcpy(tok, b, sizeof b);
	} while (*tok == 0);
	return 0;
}

/* now + ms without overflowing on absurd leases. */
static int64_t
add_ms(int64_t now, int64_t ms)
{
	if (ms > 0 && now > INT64_MAX - ms)
		return INT64_MAX;
	if (ms < 0 && now < INT64_MIN - ms)
		return INT64_MIN;
	return now + ms;
}

/* --- opening --- */

static void
close_stmts(struct pca_spool *sp)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(sp->st[i]);
	for (int op = 0; op < F_OPS; op++)
		for (int m = 0; m < F_MASKS; m++)
			sqlite3_finalize(sp->fst[op][m]);
}

void
pca_spool_close(struct pca_spool *sp)
{
	if (!sp)
		return;
	close_stmts(sp);
	/* An open transaction is rolled back by the close. */
	sqlite3_close(sp->db);
	free(sp->path);
	free(sp);
}

/* SQLite retries a failed create as a read-only open, so its errno for a
 * new file in a directory we may not write is ENOENT: ask the directory. */
static int
create_errno(const char *path, int sys)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int e = sys;

	if (sys != ENOENT)
		return sys;
	dir = slash ? pca_strndup(path, slash == path ? 1 : (size_t)(slash - path)) :
	    pca_strdup(".");
	if (access(dir, W_OK | X_OK) != 0 && errno != ENOENT)
		e = errno;
	free(dir);
	return e;
}

static int
open_fail(struct pca_spool *sp, struct pca_err *err)
{
	int sys = sp->db ? create_errno(sp->path, sqlite3_system_errno(sp->db)) : 0;

	if (sys != 0)
		return pca_err_set(err, "%s: cannot open: %s", sp->path, strerror(sys));
	if (!sp->db)
		return pca_err_set(err, "%s: cannot open: out of memory", sp->path);
	return pca_err_set(err, "%s: cannot open: %s", sp->path, sqlite3_errmsg(sp->db));
}

/* A single-value query used while opening (not worth caching). */
static int
query_int(struct pca_spool *sp, const char *sql, int64_t *v, struct pca_err *err)
{
	sqlite3_stmt *s = prepare(sp, sql, false, err);
	int rc;

	if (!s)
		return -1;
	rc = step(sp, s, sql, err);
	if (rc > 0)
		*v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc < 0 ? -1 : 0;
}

static int
exec_sql(struct pca_spool *sp, const char *sql, const char *what, struct pca_err *err)
{
	if (sqlite3_exec(sp->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(sp, what, err);
	return 0;
}

static int
try_wal(struct pca_spool *sp, struct pca_err *err)
{
	sqlite3_stmt *s = prepare(sp, "PRAGMA journal_mode=WAL", false, err);
	const unsigned char *mode;
	int rc;

	if (!s)
		return -1;
	rc = step(sp, s, "journal_mode", err);
	mode = rc > 0 ? sqlite3_column_text(s, 0) : NULL;
	if (rc > 0 && (!mode || strcmp((const char *)mode, "wal") != 0))
		rc = pca_err_set(err, "%s: cannot use WAL journal mode (got %s)", sp->path,
		    mode ? (const char *)mode : "nothing");
	sqlite3_finalize(s);
	return rc < 0 ? -1 : 0;
}

/* The switch to WAL wants an exclusive lock from inside the statement's own
 * read transaction, where SQLite does not call the busy handler (it could
 * deadlock): two processes opening one new spool at once would get "database
 * is locked" at once. So wait here, as long as the busy timeout would. */
static int
set_wal(struct pca_spool *sp, struct pca_err *err)
{
	int waited = 0, pause = 1;

	for (;;) {
		if (try_wal(sp, err) == 0)
			return 0;
		if ((sqlite3_extended_errcode(sp->db) & 0xff) != SQLITE_BUSY ||
		    waited >= SPOOL_BUSY_MS)
			return -1;
		pca_err_clear(err);
		sqlite3_sleep(pause);
		waited += pause;
		pause = pause < 64 ? pause * 2 : 64;
	}
}

static int
configure(struct pca_spool *sp, struct pca_err *err)
{
	sqlite3_extended_result_codes(sp->db, 1);
	sqlite3_busy_timeout(sp->db, SPOOL_BUSY_MS);
	if (sqlite3_db_readonly(sp->db, "main") == 1)
		return pca_err_set(err, "%s: cannot open for writing", sp->path);
	if (set_wal(sp, err) < 0) {
		if ((sqlite3_extended_errcode(sp->db) & 0xff) == SQLITE_READONLY)
			return pca_err_set(err, "%s: cannot write the spool (its directory must be "
			    "writable too, for the -wal and -shm files)", sp->path);
		return -1;
	}
	return exec_sql(sp, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;", "pragma", err);
}

/* Under BEGIN IMMEDIATE so that two processes creating the same new spool
 * do not both create the schema: the second one finds the first's version. */
static int
create_schema(struct pca_spool *sp, int64_t *version, struct pca_err *err)
{
	int64_t objects = 0;

	if (exec_sql(sp, "BEGIN IMMEDIATE", "create schema", err) < 0)
		return -1;
	if (query_int(sp, "PRAGMA user_version", version, err) < 0 ||
	    query_int(sp, "SELECT count(*) FROM sqlite_master", &objects, err) < 0)
		goto fail;
	if (*version == 0 && objects > 0) {
		pca_err_set(err, "%s: an SQLite database that is not a pca spool", sp->path);
		goto fail;
	}
	if (*version == 0) {
		if (exec_sql(sp, schema_sql, "create schema", err) < 0)
			goto fail;
		*version = SPOOL_SCHEMA;
	}
	if (exec_sql(sp, "COMMIT", "create schema", err) < 0)
		goto fail;
	return 0;
fail:
	rollback(sp);
	return -1;
}

static int
check_schema(struct pca_spool *sp, struct pca_err *err)
{
	int64_t version = 0;

	if (query_int(sp, "PRAGMA user_version", &version, err) < 0)
		return -1;
	if (version == 0 && create_schema(sp, &version, err) < 0)
		return -1;
	if (version > SPOOL_SCHEMA)
		return pca_err_set(err, "%s: spool schema version %lld is newer than this pca "
		    "understands (%d)", sp->path, (long long)version, SPOOL_SCHEMA);
	if (version != SPOOL_SCHEMA)
		return pca_err_set(err, "%s: unknown spool schema version %lld", sp->path,
		    (long long)version);
	return 0;
}

struct pca_spool *
pca_spool_open(const char *path, struct pca_err *err)
{
	struct pca_spool *sp = pca_calloc(1, sizeof *sp);

	sp->path = pca_strdup(path);
	if (sqlite3_open_v2(path, &sp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL) != SQLITE_OK) {
		open_fail(sp, err);
		goto fail;
	}
	if (configure(sp, err) < 0 || check_schema(sp, err) < 0)
		goto fail;
	return sp;
fail:
	pca_spool_close(sp);
	return NULL;
}

/* --- transactions --- */

int
pca_spool_tx_begin(struct pca_spool *sp, struct pca_err *err)
{
	if (sp->in_tx)
		return pca_err_set(err, "%s: a transaction is already open", sp->path);
	if (run(sp, ST_BEGIN, "begin transaction", err) < 0)
		return -1;
	sp->in_tx = true;
	return 0;
}

int
pca_spool_tx_commit(struct pca_spool *sp, struct pca_err *err)
{
	if (!sp->in_tx)
		return pca_err_set(err, "%s: no transaction is open", sp->path);
	sp->in_tx = false;
	/* Some errors (disk full, I/O) make SQLite roll back by itself. */
	if (sqlite3_get_autocommit(sp->db))
		return pca_err_set(err, "%s: the transaction was rolled back after an error",
		    sp->path);
	if (run(sp, ST_COMMIT, "commit", err) < 0) {
		rollback(sp);
		return -1;
	}
	return 0;
}

/* Open a transaction for one call unless the caller has one open.
 * Returns 1 when this call owns it, 0 when not, -1 on error. */
static int
own_begin(struct pca_spool *sp, struct pca_err *err)
{
	if (sp->in_tx)
		return 0;
	return run(sp, ST_BEGIN, "begin transaction", err) < 0 ? -1 : 1;
}

static int
own_end(struct pca_spool *sp, int owned, int rc, struct pca_err *err)
{
	if (owned != 1)
		return rc;
	if (rc >= 0 && run(sp, ST_COMMIT, "commit", err) == 0)
		return rc;
	rollback(sp);
	return -1;
}

/* --- journaling --- */

static int
bind_item(sqlite3_stmt *s, const struct pca_spool_item *it, int64_t now, int64_t lease_until,
	int64_t token)
{
	const void *p = it->payload.data ? it->payload.data : "";

	return bind_text(s, 1, it->channel) || bind_text(s, 2, it->key) ||
	    bind_text(s, 3, it->action_id) || bind_text(s, 4, it->call_id) ||
	    bind_text(s, 5, it->target) || bind_text(s, 6, it->record) ||
	    sqlite3_bind_blob64(s, 7, p, it->payload.len, SQLITE_STATIC) ||
	    bind_text(s, 8, it->meta) || bind_int(s, 9, now) ||
	    bind_int(s, 10, lease_until) || bind_int(s, 11, token);
}

/* Replace the caller's item with the stored one of the same (channel, key). */
static int
load_by_key(struct pca_spool *sp, struct pca_spool_item *it, struct pca_err *err)
{
	sqlite3_stmt *s = stmt(sp, ST_BY_KEY, err);
	struct pca_spool_item got;
	int rc;

	if (!s)
		return -1;
	if (bind_text(s, 1, it->channel) || bind_text(s, 2, it->key))
		return bind_fail(sp, s, err);
	rc = step(sp, s, "begin", err);
	if (rc == 0)
		rc = pca_err_set(err, "%s: begin: item %s %s vanished", sp->path, it->channel,
		    it->key);
	if (rc > 0)
		rc = row_to_item(sp, s, &got, err);
	release(s);
	if (rc < 0)
		return -1;
	/* The caller's strings are the caller's: not freed here (they may be
	 * borrowed). */
	*it = got;
	return 0;
}

static void
set_leased(struct pca_spool_item *it, sqlite3_stmt *s, int64_t now, int64_t lease_until,
	int64_t token)
{
	it->id = sqlite3_column_int64(s, 0);
	it->attempts = sqlite3_column_int(s, 1);
	it->created_at = sqlite3_column_int64(s, 2);
	free(it->last_result);
	it->last_result = col_str(s, 3);
	it->state = PCA_ITEM_LEASED;
	it->updated_at = now;
	it->next_attempt_at = now;
	it->lease_until = lease_until;
	it->lease_token = token;
}

int
pca_spool_begin(struct pca_spool *sp, struct pca_spool_item *it, int64_t now, int64_t lease_ms,
	bool replace, struct pca_err *err)
{
	int64_t token, lease_until = add_ms(now, lease_ms);
	sqlite3_stmt *s;
	int rc;

	if (!it->channel || !it->key)
		return pca_err_set(err, "%s: begin: an item needs a channel and a key", sp->path);
	if (new_token(sp, &token, err) < 0)
		return -1;
	if (!(s = stmt(sp, replace ? ST_UPSERT : ST_INSERT, err)))
		return -1;
	if (bind_item(s, it, now, lease_until, token))
		return bind_fail(sp, s, err);
	rc = step(sp, s, "begin", err);
	if (rc < 0)
		return -1;
	if (rc > 0)
		set_leased(it, s, now, lease_until, token);
	release(s);
	if (rc == 0 && load_by_key(sp, it, err) < 0)
		return -1;
	return rc;
}

/* --- outcomes --- */

static int
outcome(struct pca_spool *sp, enum stmt_id id, const char *what, int64_t item, int64_t token,
	int attempts, const char *result, int64_t now, int64_t next, struct pca_err *err)
{
	sqlite3_stmt *s = stmt(sp, id, err);
	int changed;

	if (!s)
		return -1;
	if (bind_int(s, 1, item) || bind_int(s, 2, token) || bind_int(s, 3, attempts) ||
	    bind_text(s, 4, result) || bind_int(s, 5, now) ||
	    (id == ST_RETRY && bind_int(s, 6, next)))
		return bind_fail(sp, s, err);
	if (step(sp, s, what, err) < 0)
		return -1;
	changed = sqlite3_changes(sp->db);
	release(s);
	return changed > 0 ? 1 : 0;
}

int
pca_spool_done(struct pca_spool *sp, int64_t id, int64_t token, int attempts,
	const char *result_json, int64_t now, struct pca_err *err)
{
	return outcome(sp, ST_DONE, "done", id, token, attempts, result_json, now, 0, err);
}

int
pca_spool_retry(struct pca_spool *sp, int64_t id, int64_t token, int attempts,
	int64_t next_attempt_at, const char *result_json, int64_t now, struct pca_err *err)
{
	return outcome(sp, ST_RETRY, "retry", id, token, attempts, result_json, now,
	    next_attempt_at, err);
}

int
pca_spool_dead(struct pca_spool *sp, int64_t id, int64_t token, int attempts,
	const char *result_json, int64_t now, struct pca_err *err)
{
	return outcome(sp, ST_DEAD, "dead", id, token, attempts, result_json, now, 0, err);
}

/* --- claiming --- */

/* The ids due now, oldest first, into a new array. */
static int
due_ids(struct pca_spool *sp, const char *channel, const char *action, int64_t now, size_t max,
	int64_t **ids, size_t *n, struct pca_err *err)
{
	sqlite3_stmt *s = stmt(sp, ST_DUE, err);
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (!s)
		return -1;
	if (bind_text(s, 1, channel) || bind_int(s, 2, now) ||
	    bind_int(s, 3, max > INT64_MAX ? INT64_MAX : (int64_t)max) || bind_text(s, 4, action))
		return bind_fail(sp, s, err);
	while ((rc = step(sp, s, "claim", err)) > 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*ids = pca_reallocarray(*ids, cap, sizeof **ids);
		}
		(*ids)[(*n)++] = sqlite3_column_int64(s, 0);
	}
	if (rc == 0)
		release(s);
	return rc;
}

static int
lease_one(struct pca_spool *sp, int64_t id, int64_t lease_until, int64_t now,
	struct pca_spool_item *it, struct pca_err *err)
{
	sqlite3_stmt *s = stmt(sp, ST_LEASE, err);
	int64_t token;
	int rc;

	if (!s || new_token(sp, &token, err) < 0)
		return -1;
	if (bind_int(s, 1, id) || bind_int(s, 2, lease_until) || bind_int(s, 3, token) ||
	    bind_int(s, 4, now))
		return bind_fail(sp, s, err);
	rc = step(sp, s, "claim", err);
	if (rc == 0)
		rc = pca_err_set(err, "%s: claim: item %lld vanished", sp->path, (long long)id);
	if (rc > 0)
		rc = row_to_item(sp, s, it, err);
	release(s);
	return rc < 0 ? -1 : 0;
}

static int
claim_locked(struct pca_spool *sp, const char *channel, const char *action, int64_t now,
	int64_t lease_ms, size_t max, struct pca_spool_item **items, size_t *n, struct pca_err *err)
{
	int64_t *ids;
	size_t count, i;
	int rc = 0;

	if (due_ids(sp, channel, action, now, max, &ids, &count, err) < 0)
		return -1;
	*items = count ? pca_calloc(count, sizeof **items) : NULL;
	for (i = 0; i < count && rc == 0; i++)
		rc = lease_one(sp, ids[i], add_ms(now, lease_ms), now, &(*items)[i], err);
	free(ids);
	if (rc < 0) {
		pca_spool_items_free(*items, i);
		*items = NULL;
		return -1;
	}
	*n = count;
	return 0;
}

int
pca_spool_claim(struct pca_spool *sp, const char *channel, const char *action_id, int64_t now,
	int64_t lease_ms, size_t max, struct pca_spool_item **items, size_t *n, struct pca_err *err)
{
	int owned, rc;

	*items = NULL;
	*n = 0;
	if (!channel)
		return pca_err_set(err, "%s: claim: no channel", sp->path);
	if (max == 0)
		return 0;
	if ((owned = own_begin(sp, err)) < 0)
		return -1;
	rc = claim_locked(sp, channel, action_id, now, lease_ms, max, items, n, err);
	if (own_end(sp, owned, rc, err) < 0 && rc == 0) {
		/* The commit failed: the leases were not recorded. */
		pca_spool_items_free(*items, *n);
		*items = NULL;
		*n = 0;
		return -1;
	}
	return rc;
}

/* --- listing --- */

static int
filter_mask(struct pca_spool *sp, const struct pca_spool_filter *f, unsigned *mask,
	struct pca_err *err)
{
	enum pca_item_state st;

	*mask = 0;
	if (!f)
		return 0;
	if (f->channel)
		*mask |= FM_CHANNEL;
	if (f->since != 0)
		*mask |= FM_SINCE;
	if (f->call_id)
		*mask |= FM_CALL;
	if (f->action_id)
		*mask |= FM_ACTION;
	if (f->state && strcmp(f->state, "due") == 0)
		*mask |= FM_DUE;
	else if (f->state && parse_state(f->state, &st) == 0)
		*mask |= FM_STATE;
	else if (f->state)
		return pca_err_set(err, "%s: unknown item state \"%s\"", sp->path, f->state);
	return 0;
}

static void
add_clause(struct pca_buf *b, const char **sep, const char *clause)
{
	pca_buf_adds(b, *sep);
	pca_buf_adds(b, clause);
	*sep = " AND ";
}

static char *
filter_sql(int op, unsigned mask)
{
	static const char *const head[F_OPS] = {
		[F_LIST] = "SELECT " ITEM_COLS " FROM items",
		[F_COUNT] = "SELECT count(*) FROM items",
		[F_REQUEUE] = "UPDATE items SET state='pending', next_attempt_at=:now, "
		    "updated_at=:now, lease_until=0",
	};
	struct pca_buf b = PCA_BUF_INIT;
	const char *sep = " WHERE ";

	pca_buf_adds(&b, head[op]);
	if (op == F_REQUEUE)
		add_clause(&b, &sep, "state<>'leased'");
	if (mask & FM_CHANNEL)
		add_clause(&b, &sep, "channel=:channel");
	if (mask & FM_STATE)
		add_clause(&b, &sep, "state=:state");
	if (mask & FM_DUE)
		add_clause(&b, &sep, "state='pending' AND next_attempt_at<=:now");
	if (mask & FM_SINCE)
		add_clause(&b, &sep, "created_at>=:since");
	if (mask & FM_CALL)
		add_clause(&b, &sep, "call_id=:call_id");
	if (mask & FM_ACTION)
		add_clause(&b, &sep, "action_id=:action_id");
	if (op == F_LIST)
		pca_buf_adds(&b, " ORDER BY created_at, id");
	return pca_buf_detach(&b, NULL);
}

/* Bind a named parameter when the statement has it. */
static int
bind_named_text(sqlite3_stmt *s, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	return i ? bind_text(s, i, v) : SQLITE_OK;
}

static int
bind_named_int(sqlite3_stmt *s, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	return i ? bind_int(s, i, v) : SQLITE_OK;
}

static int
bind_filter(sqlite3_stmt *s, const struct pca_spool_filter *f, int64_t now)
{
	if (bind_named_int(s, ":now", now))
		return -1;
	if (!f)
		return 0;
	return bind_named_text(s, ":channel", f->channel) ||
	    bind_named_text(s, ":state", f->state) || bind_named_int(s, ":since", f->since) ||
	    bind_named_text(s, ":call_id", f->call_id) ||
	    bind_named_text(s, ":action_id", f->action_id);
}

static void
filter_done(sqlite3_stmt *s, bool temp)
{
	if (temp)
		sqlite3_finalize(s);
	else
		release(s);
}

/* The statement for op and f, bound. A cached one that is still stepping
 * (a list callback listing again) is left alone: *temp says to finalize. */
static sqlite3_stmt *
filter_stmt(struct pca_spool *sp, int op, const struct pca_spool_filter *f, int64_t now,
	bool *temp, struct pca_err *err)
{
	sqlite3_stmt **slot, *s;
	unsigned mask;
	char *sql;

	if (filter_mask(sp, f, &mask, err) < 0)
		return NULL;
	slot = &sp->fst[op][mask];
	*temp = *slot && sqlite3_stmt_busy(*slot);
	if (*temp || !*slot) {
		sql = filter_sql(op, mask);
		s = prepare(sp, sql, !*temp, err);
		free(sql);
		if (!s)
			return NULL;
		if (!*temp)
			*slot = s;
	} else {
		s = *slot;
	}
	if (bind_filter(s, f, now)) {
		db_fail(sp, "bind", err);
		filter_done(s, *temp);
		return NULL;
	}
	return s;
}

int
pca_spool_list(struct pca_spool *sp, const struct pca_spool_filter *f, int64_t now,
	int (*fn)(void *ud, const struct pca_spool_item *it), void *ud, struct pca_err *err)
{
	struct pca_spool_item it;
	sqlite3_stmt *s;
	bool temp;
	int rc;

	if (!(s = filter_stmt(sp, F_LIST, f, now, &temp, err)))
		return -1;
	while ((rc = step(sp, s, "list", err)) > 0) {
		if (row_to_item(sp, s, &it, err) < 0) {
			rc = -1;
			break;
		}
		rc = fn(ud, &it);
		pca_spool_item_clear(&it);
		if (rc != 0) {
			rc = 0;
			break;
		}
	}
	filter_done(s, temp);
	return rc < 0 ? -1 : 0;
}

int
pca_spool_count(struct pca_spool *sp, const struct pca_spool_filter *f, int64_t now,
	size_t *n, struct pca_err *err)
{
	sqlite3_stmt *s;
	bool temp;
	int rc;

	*n = 0;
	if (!(s = filter_stmt(sp, F_COUNT, f, now, &temp, err)))
		return -1;
	rc = step(sp, s, "count", err);
	if (rc > 0)
		*n = (size_t)sqlite3_column_int64(s, 0);
	filter_done(s, temp);
	return rc < 0 ? -1 : 0;
}

int
pca_spool_requeue(struct pca_spool *sp, const struct pca_spool_filter *f, int64_t now,
	size_t *n, struct pca_err *err)
{
	sqlite3_stmt *s;
	bool temp;
	int rc;

	*n = 0;
	if (!(s = filter_stmt(sp, F_REQUEUE, f, now, &temp, err)))
		return -1;
	rc = step(sp, s, "requeue", err);
	if (rc == 0)
		*n = (size_t)sqlite3_changes64(sp->db);
	filter_done(s, temp);
	return rc < 0 ? -1 : 0;
}

/* --- endpoints --- */

int
pca_spool_disable_endpoint(struct pca_spool *sp, const char *url, const char *reason,
	int64_t now, struct pca_err *err)
{
	sqlite3_stmt *s = stmt(sp, ST_EP_DISABLE, err);

	if (!s)
		return -1;
	if (bind_text(s, 1, url) || bind_int(s, 2, now) || bind_text(s, 3, reason))
		return bind_fail(sp, s, err);
	if (step(sp, s, "disable endpoint", err) < 0)
		return -1;
	release(s);
	return 0;
}

int
pca_spool_endpoint_disabled(struct pca_spool *sp, const char *url, int64_t *since,
	struct pca_err *err)
{
	sqlite3_stmt *s = stmt(sp, ST_EP_GET, err);
	int rc;

	if (!s)
		return -1;
	if (bind_text(s, 1, url))
		return bind_fail(sp, s, err);
	rc = step(sp, s, "endpoint", err);
	if (rc < 0)
		return -1;
	if (rc > 0 && since)
		*since = sqlite3_column_int64(s, 0);
	release(s);
	return rc;
}

int
pca_spool_enable_endpoint(struct pca_spool *sp, const char *url, struct pca_err *err)
{
	sqlite3_stmt *s = stmt(sp, ST_EP_ENABLE, err);

	if (!s)
		return -1;
	if (bind_text(s, 1, url))
		return bind_fail(sp, s, err);
	if (step(sp, s, "enable endpoint", err) < 0)
		return -1;
	release(s);
	return 0;
}
