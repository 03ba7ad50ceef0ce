#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tap.h"

#include "alloc.h"
#include "spool.h"

#define T0 1700000000000LL
#define MINUTE 60000LL

static char *dir;

static char *
in_dir(const char *name)
{
	return pca_asprintf("%s/%s", dir, name);
}

static void
fill(struct pca_spool_item *it, const char *channel, const char *key, const char *call,
	const char *action, const char *payload)
{
	memset(it, 0, sizeof *it);
	it->channel = pca_strdup(channel);
	it->key = pca_strdup(key);
	it->call_id = call ? pca_strdup(call) : NULL;
	it->action_id = action ? pca_strdup(action) : NULL;
	it->target = pca_strdup("https://hooks.example.test/in");
	it->record = pca_asprintf("{\"call_id\":\"%s\"}", call ? call : "");
	pca_buf_adds(&it->payload, payload);
}

/* pca_spool_begin, freeing our own strings when a conflict replaced them
 * (the spool neither uses nor frees them then). */
static int
begin(struct pca_spool *sp, struct pca_spool_item *it, int64_t now, int64_t lease,
	bool replace, struct pca_err *err)
{
	struct pca_spool_item mine = *it;
	int rc = pca_spool_begin(sp, it, now, lease, replace, err);

	if (rc == 0)
		pca_spool_item_clear(&mine);
	return rc;
}

static struct pca_spool *
must_open(const char *path)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_spool *sp = pca_spool_open(path, &err);

	if (!sp) {
		printf("Bail out! %s\n", pca_err_msg(&err));
		exit(1);
	}
	return sp;
}

/* The stored item of (channel, key): a begin that conflicts changes nothing. */
static int
fetch(struct pca_spool *sp, const char *channel, const char *key, struct pca_spool_item *out)
{
	struct pca_err err = PCA_ERR_INIT;
	int rc;

	fill(out, channel, key, NULL, NULL, "");
	rc = begin(sp, out, 0, 0, false, &err);
	pca_err_clear(&err);
	return rc == 0 ? 0 : -1;
}

/* Journal an item at `created` and leave it pending until `next`. */
static int64_t
put_pending(struct pca_spool *sp, const char *channel, const char *key, const char *call,
	const char *action, int64_t created, int64_t next)
{
	struct pca_spool_item it;
	int64_t id = -1;

	fill(&it, channel, key, call, action, "payload");
	if (begin(sp, &it, created, MINUTE, false, NULL) == 1 &&
	    pca_spool_retry(sp, it.id, it.lease_token, 0, next, NULL, created, NULL) == 1)
		id = it.id;
	pca_spool_item_clear(&it);
	return id;
}

static int64_t
put_state(struct pca_spool *sp, const char *channel, const char *key, const char *call,
	const char *action, int64_t created, enum pca_item_state st)
{
	struct pca_spool_item it;
	int64_t id = -1;
	int rc = 0;

	fill(&it, channel, key, call, action, "payload");
	if (begin(sp, &it, created, MINUTE, false, NULL) != 1)
		goto out;
	if (st == PCA_ITEM_DONE)
		rc = pca_spool_done(sp, it.id, it.lease_token, 1, "{\"status\":\"sent\"}", created,
		    NULL);
	else if (st == PCA_ITEM_DEAD)
		rc = pca_spool_dead(sp, it.id, it.lease_token, 8, "{\"status\":\"failed\"}",
		    created, NULL);
	else
		rc = 1;
	if (rc == 1)
		id = it.id;
out:
	pca_spool_item_clear(&it);
	return id;
}

static size_t
count(struct pca_spool *sp, const struct pca_spool_filter *f, int64_t now)
{
	struct pca_err err = PCA_ERR_INIT;
	size_t n = 0;

	if (pca_spool_count(sp, f, now, &n, &err) < 0) {
		printf("# count: %s\n", pca_err_msg(&err));
		n = (size_t)-1;
	}
	pca_err_clear(&err);
	return n;
}

static size_t
count_state(struct pca_spool *sp, const char *state, int64_t now)
{
	struct pca_spool_filter f = { .state = state };

	return count(sp, &f, now);
}

static char *
sql_text(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char *out = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
			out = pca_strdup((const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return out;
}

static int
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static void
is_sql(const char *path, const char *sql, const char *want, const char *name)
{
	char *got = sql_text(path, sql);

	is_str(got, want, name);
	free(got);
}

/* --- opening --- */

static void
test_open(void)
{
	char *path = in_dir("spool.db");
	struct pca_spool *sp;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_spool_item it;
	struct stat st;

	sp = pca_spool_open(path, &err);
	ok(sp != NULL, "open creates a new spool");
	ok(stat(path, &st) == 0 && st.st_size > 0, "the database file exists");
	fill(&it, "webhook", "pca:a:c", "c", "a", "x");
	is_int(begin(sp, &it, T0, MINUTE, false, &err), 1, "an item is journaled");
	pca_spool_item_clear(&it);
	pca_spool_close(sp);

	sp = pca_spool_open(path, &err);
	ok(sp != NULL, "the spool opens again");
	is_int(count(sp, NULL, T0), 1, "the item is still there after reopening");
	pca_spool_close(sp);
	is_sql(path, "PRAGMA journal_mode", "wal", "the database is in WAL mode");
	is_sql(path, "PRAGMA user_version", "1", "user_version is the schema version");
	is_sql(path, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master "
	    "WHERE type='table' ORDER BY name)", "endpoints,items", "the schema has its tables");
	is_sql(path, "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
	    "sql LIKE '%(state, channel, next_attempt_at)%'", "1", "the claim index exists");
	pca_err_clear(&err);
	free(path);
}

static void
test_newer_schema(void)
{
	struct pca_err err = PCA_ERR_INIT;
	char *cwd = get_current_dir_name();

	/* A relative path, so the message is the one an operator sees. */
	if (chdir(dir) < 0)
		printf("# chdir: %s\n", strerror(errno));
	ok(sql_exec("newer.db", "PRAGMA user_version=7") == 0, "a database of version 7 is made");
	ok(pca_spool_open("newer.db", &err) == NULL, "a newer schema is refused");
	is_str(pca_err_msg(&err),
	    "newer.db: spool schema version 7 is newer than this pca understands (1)",
	    "the refusal names the file and both versions");
	ok(sql_exec("foreign.db", "CREATE TABLE t(x)") == 0, "a foreign database is made");
	ok(pca_spool_open("foreign.db", &err) == NULL, "a database that is not a spool is refused");
	is_str(pca_err_msg(&err), "foreign.db: an SQLite database that is not a pca spool",
	    "the refusal says why");
	is_sql("foreign.db", "SELECT count(*) FROM sqlite_master", "1",
	    "the foreign database is left alone");
	if (cwd && chdir(cwd) < 0)
		printf("# chdir: %s\n", strerror(errno));
	free(cwd);
	pca_err_clear(&err);
}

static void
test_not_a_database(void)
{
	char *path = in_dir("notes.txt"), *want;
	struct pca_err err = PCA_ERR_INIT;
	FILE *fp = fopen(path, "w");

	for (int i = 0; fp && i < 200; i++)
		fprintf(fp, "line %d of a text file that is not a database\n", i);
	if (fp)
		fclose(fp);
	ok(pca_spool_open(path, &err) == NULL, "a text file is refused");
	want = pca_asprintf("%s: not an SQLite database", path);
	is_str(pca_err_msg(&err), want, "the error names the file and says it is not a database");
	free(want);
	free(path);
	pca_err_clear(&err);
}

/* The message an open of path gives when run as an unprivileged user:
 * root writes anywhere, so a root test drops to nobody in a child. */
static char *
open_error_as_nobody(const char *path)
{
	struct pca_err err = PCA_ERR_INIT;
	char buf[512];
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(fd) < 0)
		return NULL;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(fd[0]);
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		if (pca_spool_open(path, &err) == NULL)
			n = write(fd[1], pca_err_msg(&err), strlen(pca_err_msg(&err)));
		_exit(0);
	}
	close(fd[1]);
	n = pid > 0 ? read(fd[0], buf, sizeof buf - 1) : -1;
	close(fd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return NULL;
	buf[n > 0 ? n : 0] = '\0';
	return pca_strdup(buf);
}

static void
test_unwritable(void)
{
	char *ro = in_dir("ro"), *path = in_dir("ro/spool.db"), *missing = in_dir("no/spool.db");
	struct pca_err err = PCA_ERR_INIT;
	char *want, *got;

	ok(pca_spool_open(missing, &err) == NULL, "a missing directory is an error");
	want = pca_asprintf("%s: cannot open: No such file or directory", missing);
	is_str(pca_err_msg(&err), want, "the error names the file and the reason");
	free(want);

	mkdir(ro, 0555);
	chmod(ro, 0555);
	got = open_error_as_nobody(path);
	if (!got) {
		ok(1, "unwritable directory # SKIP cannot run as an unprivileged user");
	} else {
		want = pca_asprintf("%s: cannot open: Permission denied", path);
		is_str(got, want, "an unwritable directory: the error names the file and the reason");
		free(want);
	}
	free(got);

	/* An existing spool whose directory may not be written: SQLite cannot
	 * make the -wal and -shm files beside it. */
	chmod(ro, 0755);
	pca_spool_close(must_open(path));
	chmod(path, 0666);
	chmod(ro, 0555);
	got = open_error_as_nobody(path);
	if (!got) {
		ok(1, "existing spool in an unwritable directory # SKIP cannot run unprivileged");
	} else {
		want = pca_asprintf("%s: cannot write the spool (its directory must be writable "
		    "too, for the -wal and -shm files)", path);
		is_str(got, want, "an existing spool in an unwritable directory: a clear error");
		free(want);
	}
	chmod(ro, 0755);
	free(got);
	free(ro);
	free(path);
	free(missing);
	pca_err_clear(&err);
}

/* --- journaling --- */

/* A first begin inserts; a second with the same (channel, key) reports
 * the stored item, before and after it is done. Returns the item's token. */
static int64_t
begin_and_conflict(struct pca_spool *sp, int64_t *id)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_spool_item a, b;
	int64_t token;

	fill(&a, "webhook", "pca:a1:c1", "c1", "a1", "first");
	is_int(begin(sp, &a, T0, MINUTE, false, &err), 1, "begin inserts");
	ok(a.id > 0, "begin sets the id");
	ok(a.lease_token != 0, "begin sets a lease token");
	is_int(a.state, PCA_ITEM_LEASED, "a new item is leased to its writer");
	is_int(a.attempts, 0, "a new item has no attempts");
	is_int(a.lease_until, T0 + MINUTE, "the lease lasts lease_ms");
	*id = a.id;
	token = a.lease_token;
	pca_spool_item_clear(&a);

	fill(&b, "webhook", "pca:a1:c1", "c1", "a1", "second");
	free(b.target);
	b.target = pca_strdup("https://elsewhere.test/");
	is_int(begin(sp, &b, T0 + 5, MINUTE, false, &err), 0,
	    "begin with an existing (channel, key) does not insert");
	is_int(b.id, *id, "the conflict fills the existing item's id");
	is_str(b.payload.data, "first", "... its payload");
	is_str(b.target, "https://hooks.example.test/in", "... its target");
	is_int(b.lease_token, token, "... its current lease token");
	is_int(b.created_at, T0, "... its creation time");
	is_int(b.state, PCA_ITEM_LEASED, "... its state");
	pca_spool_item_clear(&b);

	is_int(pca_spool_done(sp, *id, token, 1, "{\"status\":\"sent\"}", T0 + 10, &err), 1,
	    "done with the current token applies");
	fill(&b, "webhook", "pca:a1:c1", "c1", "a1", "third");
	is_int(begin(sp, &b, T0 + 20, MINUTE, false, &err), 0,
	    "begin after done still conflicts");
	is_int(b.state, PCA_ITEM_DONE, "the existing item is done");
	is_int(b.attempts, 1, "... with its attempts");
	is_str(b.last_result, "{\"status\":\"sent\"}", "... and its last result");
	pca_spool_item_clear(&b);
	pca_err_clear(&err);
	return token;
}

/* An operator's resend: replace resets the done item and leases it anew. */
static void
begin_replace(struct pca_spool *sp, int64_t id, int64_t token)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_spool_item b, got;

	fill(&b, "webhook", "pca:a1:c1", "c1", "a1", "resent");
	b.meta = pca_strdup("{\"resent_by\":\"operator\"}");
	is_int(begin(sp, &b, T0 + 30, MINUTE, true, &err), 1, "begin with replace applies");
	is_int(b.id, id, "replace keeps the row");
	ok(b.lease_token != 0 && b.lease_token != token, "replace gives a new lease token");
	is_int(b.state, PCA_ITEM_LEASED, "replace leases the item to the caller");
	is_int(b.attempts, 1, "replace keeps the attempts");
	is_int(b.created_at, T0, "replace keeps the creation time");
	is_int(b.lease_until, T0 + 30 + MINUTE, "replace sets a new lease");
	is_int(pca_spool_done(sp, id, token, 2, "{}", T0 + 31, &err), 0,
	    "done with the token from before the replace is ignored");
	ok(fetch(sp, "webhook", "pca:a1:c1", &got) == 0, "the replaced item is read back");
	is_str(got.payload.data, "resent", "replace stored the new payload");
	is_str(got.meta, "{\"resent_by\":\"operator\"}", "... and the new meta");
	is_int(got.state, PCA_ITEM_LEASED, "the stale done changed nothing");
	is_int(got.lease_token, b.lease_token, "the stored token is the replacing caller's");
	pca_spool_item_clear(&got);
	pca_spool_item_clear(&b);
	pca_err_clear(&err);
}

static void
test_begin(void)
{
	char *path = in_dir("begin.db");
	struct pca_spool *sp = must_open(path);
	struct pca_err err = PCA_ERR_INIT;
	struct pca_spool_item b;
	int64_t id, token;

	token = begin_and_conflict(sp, &id);
	begin_replace(sp, id, token);

	fill(&b, "sms", "pca:a1:c1", "c1", "a1", "text");
	is_int(begin(sp, &b, T0, MINUTE, false, &err), 1,
	    "the same key on another channel is another item");
	ok(b.id != id, "... with its own id");
	pca_spool_item_clear(&b);

	memset(&b, 0, sizeof b);
	b.channel = pca_strdup("sms");
	is_int(begin(sp, &b, T0, MINUTE, false, &err), -1, "begin without a key fails");
	ok(strstr(pca_err_msg(&err), "key") != NULL, "the error says what is missing");
	pca_spool_item_clear(&b);
	pca_spool_close(sp);
	pca_err_clear(&err);
	free(path);
}

/* --- claiming --- */

static int
claim(struct pca_spool *sp, const char *channel, int64_t now, size_t max,
	struct pca_spool_item **items, size_t *n)
{
	struct pca_err err = PCA_ERR_INIT;
	int rc = pca_spool_claim(sp, channel, NULL, now, MINUTE, max, items, n, &err);

	if (rc < 0)
		printf("# claim: %s\n", pca_err_msg(&err));
	pca_err_clear(&err);
	return rc;
}

/* After the leases of p2 and p1 (tokens old[]) expired: reclaimed one at a
 * time, oldest first, with new tokens that fence off the old holder. */
static void
reclaim_expired(struct pca_spool *sp, int64_t p1, int64_t p2, const int64_t old[2])
{
	struct pca_spool_item *items = NULL, got;
	size_t n = 0;

	is_int(claim(sp, "email", T0 + MINUTE + 1, 1, &items, &n), 0, "claim after expiry");
	is_int(n, 1, "max limits the batch");
	if (n == 1) {
		is_int(items[0].id, p2, "an expired lease is reclaimed, oldest first");
		ok(items[0].lease_token != old[0], "the reclaim has a new token");
		is_int(pca_spool_done(sp, p2, old[0], 1, "{\"stale\":true}", T0 + MINUTE + 2, NULL),
		    0, "the old holder's done is ignored");
		ok(fetch(sp, "email", "k-p2", &got) == 0 && got.state == PCA_ITEM_LEASED &&
		    got.lease_token == items[0].lease_token && got.last_result == NULL,
		    "the item stays leased to the new holder");
		pca_spool_item_clear(&got);
		is_int(pca_spool_done(sp, p2, items[0].lease_token, 2, "{}", T0 + MINUTE + 3, NULL),
		    1, "the new holder's done applies");
		is_int(pca_spool_retry(sp, p2, items[0].lease_token, 2, T0, "{}", T0, NULL), 0,
		    "an outcome on a done item is ignored");
	}
	pca_spool_items_free(items, n);
	is_int(claim(sp, "email", T0 + MINUTE + 4, 10, &items, &n), 0, "claim the rest");
	is_int(n, 1, "the other expired lease is reclaimed");
	if (n == 1) {
		is_int(items[0].id, p1, "it is the other item");
		ok(items[0].lease_token != old[1], "with a new token");
	}
	pca_spool_items_free(items, n);
}

static void
test_claim(void)
{
	char *path = in_dir("claim.db");
	struct pca_spool *sp = must_open(path);
	struct pca_spool_item *items = NULL;
	int64_t p1, p2, fut, old[2] = { 0, 0 };
	size_t n = 0;

	p1 = put_pending(sp, "email", "k-p1", "c1", "a", T0 - 1000, T0 - 100);
	p2 = put_pending(sp, "email", "k-p2", "c2", "a", T0 - 900, T0 - 200);
	fut = put_pending(sp, "email", "k-fut", "c3", "a", T0 - 800, T0 + 10000);
	ok(put_state(sp, "email", "k-done", "c4", "a", T0 - 700, PCA_ITEM_DONE) > 0, "a done item");
	ok(put_state(sp, "email", "k-dead", "c5", "a", T0 - 600, PCA_ITEM_DEAD) > 0, "a dead item");
	ok(put_pending(sp, "sms", "k-sms", "c6", "a", T0 - 500, T0 - 300) > 0, "an sms item");

	is_int(claim(sp, "email", T0, 10, &items, &n), 0, "claim succeeds");
	is_int(n, 2, "claim takes only the due items of its channel");
	if (n == 2) {
		is_int(items[0].id, p2, "oldest next_attempt_at first");
		is_int(items[1].id, p1, "then the next");
		is_int(items[0].state, PCA_ITEM_LEASED, "claimed items are leased");
		is_int(items[0].lease_until, T0 + MINUTE, "for lease_ms");
		ok(items[0].lease_token != 0 && items[1].lease_token != 0 &&
		    items[0].lease_token != items[1].lease_token, "each item has its own token");
		is_str(items[0].payload.data, "payload", "claim returns the payload");
		is_str(items[0].key, "k-p2", "claim returns the key");
		old[0] = items[0].lease_token;
		old[1] = items[1].lease_token;
	}
	pca_spool_items_free(items, n);

	is_int(claim(sp, "email", T0 + 1, 10, &items, &n), 0, "claim again");
	is_int(n, 0, "leased items are not claimed again while the lease holds");
	is_int(claim(sp, "email", T0 + MINUTE, 10, &items, &n), 0, "claim at lease_until");
	is_int(n, 1, "at lease_until the lease still holds (only the future item is due)");
	if (n == 1)
		is_int(items[0].id, fut, "the item that was in the future is due now");
	pca_spool_items_free(items, n);

	reclaim_expired(sp, p1, p2, old);
	is_int(claim(sp, "email", T0 + 1000 * MINUTE, 0, &items, &n), 0, "claim of at most 0");
	is_int(n, 0, "claims nothing");
	pca_spool_close(sp);
	free(path);
}

static int
last_id(void *ud, const struct pca_spool_item *it)
{
	*(int64_t *)ud = it->id;
	return 0;
}

/* The dead item `id` is listed, then requeued for an operator's replay. */
static void
requeue_dead(struct pca_spool *sp, int64_t id)
{
	struct pca_spool_filter dead = { .state = "dead" };
	struct pca_spool_item it, *items = NULL;
	struct pca_err err = PCA_ERR_INIT;
	int64_t listed = 0;
	size_t n = 0;

	is_int(count(sp, &dead, T0 + 6000), 1, "dead items are counted");
	is_int(pca_spool_list(sp, &dead, T0 + 6000, last_id, &listed, &err), 0, "list dead items");
	is_int(listed, id, "the dead item is listed");

	is_int(pca_spool_requeue(sp, &dead, T0 + 6000, &n, &err), 0, "requeue succeeds");
	is_int(n, 1, "requeue counts the items it changed");
	ok(fetch(sp, "sms", "pca:a:c:+15551234567", &it) == 0, "read back after requeue");
	is_int(it.state, PCA_ITEM_PENDING, "requeue makes the item pending");
	is_int(it.next_attempt_at, T0 + 6000, "due now");
	is_int(it.id, id, "the same item, same key");
	pca_spool_item_clear(&it);
	is_int(count(sp, &dead, T0 + 6000), 0, "no dead items left");
	claim(sp, "sms", T0 + 6000, 10, &items, &n);
	is_int(n, 1, "the requeued item is claimed");
	pca_spool_items_free(items, n);
	ok(put_state(sp, "sms", "k-done", "c", "a", T0, PCA_ITEM_DONE) > 0, "a done item");
	is_int(pca_spool_requeue(sp, NULL, T0 + 6001, &n, &err), 0, "requeue of everything");
	is_int(n, 1, "requeue takes the done item and leaves the leased one alone");
	pca_err_clear(&err);
}

static void
test_retry_dead_requeue(void)
{
	char *path = in_dir("retry.db");
	struct pca_spool *sp = must_open(path);
	struct pca_spool_item it, *items = NULL;
	struct pca_err err = PCA_ERR_INIT;
	int64_t id, token = 0;
	size_t n = 0;

	fill(&it, "sms", "pca:a:c:+15551234567", "c", "a", "hello");
	begin(sp, &it, T0, MINUTE, false, &err);
	id = it.id;
	is_int(pca_spool_retry(sp, id, it.lease_token, 1, T0 + 5000, "{\"error\":\"timeout\"}",
	    T0 + 1, &err), 1, "retry applies");
	is_int(pca_spool_retry(sp, id, it.lease_token, 1, T0 + 5000, "{}", T0 + 1, &err), 0,
	    "a second retry on the same lease is ignored");
	pca_spool_item_clear(&it);
	ok(fetch(sp, "sms", "pca:a:c:+15551234567", &it) == 0, "read back");
	is_int(it.state, PCA_ITEM_PENDING, "retry makes the item pending");
	is_int(it.next_attempt_at, T0 + 5000, "at the next attempt time");
	is_int(it.attempts, 1, "retry records the attempts");
	is_str(it.last_result, "{\"error\":\"timeout\"}", "retry records the result");
	pca_spool_item_clear(&it);

	claim(sp, "sms", T0 + 4999, 10, &items, &n);
	is_int(n, 0, "a rescheduled item is not due before its time");
	claim(sp, "sms", T0 + 5000, 10, &items, &n);
	is_int(n, 1, "it is due at its time");
	if (n == 1)
		token = items[0].lease_token;
	pca_spool_items_free(items, n);

	is_int(pca_spool_dead(sp, id, token, 2, "{\"error\":\"gave up\"}", T0 + 5001, &err), 1,
	    "dead applies");
	claim(sp, "sms", T0 + 1000000 * MINUTE, 10, &items, &n);
	is_int(n, 0, "a dead item is never claimed");
	pca_spool_items_free(items, n);
	is_int(pca_spool_done(sp, id, token, 3, "{}", T0 + 5002, &err), 0, "dead is terminal for done");
	is_int(pca_spool_retry(sp, id, token, 3, T0, "{}", T0 + 5002, &err), 0,
	    "dead is terminal for retry");
	requeue_dead(sp, id);
	pca_spool_close(sp);
	pca_err_clear(&err);
	free(path);
}

/* --- listing --- */

struct collect {
	int64_t ids[16];
	size_t n;
	size_t stop_after;
	struct pca_spool *nested; /* list again from inside the callback */
	size_t nested_total;
	struct pca_spool_item copy; /* of the item with copy_id */
	int64_t copy_id;
};

static int collect_item(void *ud, const struct pca_spool_item *it);

static int
collect_nested(void *ud, const struct pca_spool_item *it)
{
	(void)it;
	(*(size_t *)ud)++;
	return 0;
}

static int
collect_item(void *ud, const struct pca_spool_item *it)
{
	struct collect *c = ud;

	if (c->n < 16)
		c->ids[c->n] = it->id;
	c->n++;
	if (it->id == c->copy_id) {
		c->copy = *it;
		c->copy.channel = pca_strdup(it->channel);
		c->copy.key = pca_strdup(it->key);
		c->copy.call_id = pca_strdup(it->call_id);
		c->copy.action_id = pca_strdup(it->action_id);
		c->copy.target = pca_strdup(it->target);
		c->copy.record = pca_strdup(it->record);
		c->copy.meta = it->meta ? pca_strdup(it->meta) : NULL;
		c->copy.last_result = it->last_result ? pca_strdup(it->last_result) : NULL;
		memset(&c->copy.payload, 0, sizeof c->copy.payload);
		pca_buf_add(&c->copy.payload, it->payload.data, it->payload.len);
	}
	if (c->nested)
		pca_spool_list(c->nested, NULL, T0, collect_nested, &c->nested_total, NULL);
	return c->stop_after && c->n >= c->stop_after;
}

static void
check_counts(struct pca_spool *sp, int64_t now)
{
	static const struct {
		struct pca_spool_filter f;
		size_t want;
		const char *name;
	} cases[] = {
		{ { 0 }, 4, "no filter counts everything" },
		{ { .channel = "webhook" }, 2, "channel" },
		{ { .state = "done" }, 1, "state done" },
		{ { .state = "dead" }, 1, "state dead" },
		{ { .state = "pending" }, 2, "state pending" },
		{ { .state = "leased" }, 0, "state leased" },
		{ { .state = "due" }, 1, "state due: pending and due now" },
		{ { .since = T0 + 1000 }, 3, "since: created at or after" },
		{ { .call_id = "c1" }, 2, "call_id" },
		{ { .action_id = "a1" }, 2, "action_id" },
		{ { .channel = "webhook", .call_id = "c2" }, 1, "channel and call_id" },
		{ { .channel = "webhook", .state = "due" }, 1, "channel and due" },
		{ { .channel = "email", .state = "due" }, 0, "email and due" },
		{ { .call_id = "c2", .action_id = "a3", .since = T0 + 3000, .state = "pending" }, 1,
		    "four fields at once" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_int(count(sp, &cases[i].f, now), cases[i].want, cases[i].name);
}

/* The item "k2" of test_filters, as list gave it. */
static void
check_listed(const struct pca_spool_item *it)
{
	is_str(it->channel, "sms", "the listed item has its channel");
	is_str(it->key, "k2", "... key");
	is_str(it->call_id, "c1", "... call_id");
	is_str(it->action_id, "a2", "... action_id");
	is_str(it->target, "https://hooks.example.test/in", "... target");
	is_str(it->record, "{\"call_id\":\"c1\"}", "... record");
	is_str(it->payload.data, "payload", "... payload");
	is_int(it->state, PCA_ITEM_DEAD, "... state");
	is_int(it->attempts, 8, "... attempts");
	is_int(it->created_at, T0 + 1000, "... created_at");
	is_str(it->last_result, "{\"status\":\"failed\"}", "... last_result");
	ok(it->meta == NULL, "... and no meta");
}

static void
test_filters(void)
{
	char *path = in_dir("list.db");
	struct pca_spool *sp = must_open(path);
	struct pca_spool_filter f = { 0 };
	struct pca_err err = PCA_ERR_INIT;
	struct collect c = { 0 };
	int64_t i1, i2, i3, i4;
	size_t n;

	i1 = put_state(sp, "webhook", "k1", "c1", "a1", T0, PCA_ITEM_DONE);
	i2 = put_state(sp, "sms", "k2", "c1", "a2", T0 + 1000, PCA_ITEM_DEAD);
	i3 = put_pending(sp, "webhook", "k3", "c2", "a1", T0 + 2000, T0 + 2500);
	i4 = put_pending(sp, "email", "k4", "c2", "a3", T0 + 3000, T0 + 99999);
	check_counts(sp, T0 + 5000);

	c.copy_id = i2;
	is_int(pca_spool_list(sp, NULL, T0 + 5000, collect_item, &c, &err), 0, "list everything");
	is_int(c.n, 4, "list calls back for every item");
	ok(c.ids[0] == i1 && c.ids[1] == i2 && c.ids[2] == i3 && c.ids[3] == i4,
	    "list goes oldest first");
	check_listed(&c.copy);
	pca_spool_item_clear(&c.copy);

	memset(&c, 0, sizeof c);
	f.channel = "webhook";
	pca_spool_list(sp, &f, T0 + 5000, collect_item, &c, &err);
	ok(c.n == 2 && c.ids[0] == i1 && c.ids[1] == i3, "list by channel");
	memset(&c, 0, sizeof c);
	c.stop_after = 1;
	pca_spool_list(sp, NULL, T0 + 5000, collect_item, &c, &err);
	is_int(c.n, 1, "a callback returning non-zero stops the listing");
	memset(&c, 0, sizeof c);
	c.nested = sp;
	pca_spool_list(sp, NULL, T0 + 5000, collect_item, &c, &err);
	ok(c.n == 4 && c.nested_total == 16, "a callback may list the spool again");

	f.channel = NULL;
	f.state = "bogus";
	is_int(pca_spool_count(sp, &f, T0, &n, &err), -1, "an unknown state is an error");
	ok(strstr(pca_err_msg(&err), "\"bogus\"") != NULL, "the error names the state");
	pca_spool_close(sp);
	pca_err_clear(&err);
	free(path);
}

static void
test_endpoints(void)
{
	char *path = in_dir("endpoints.db");
	struct pca_spool *sp = must_open(path);
	struct pca_err err = PCA_ERR_INIT;
	const char *url = "https://gone.example.test/hook";
	int64_t since = 0;

	is_int(pca_spool_endpoint_disabled(sp, url, &since, &err), 0, "an endpoint starts enabled");
	is_int(pca_spool_disable_endpoint(sp, url, "410 Gone", T0, &err), 0, "disable");
	is_int(pca_spool_endpoint_disabled(sp, url, &since, &err), 1, "it is disabled");
	is_int(since, T0, "since the time it was disabled");
	is_int(pca_spool_disable_endpoint(sp, url, "410 Gone again", T0 + 5, &err), 0,
	    "disable again");
	pca_spool_endpoint_disabled(sp, url, &since, &err);
	is_int(since, T0, "disabling again keeps the first time");
	is_int(pca_spool_endpoint_disabled(sp, url, NULL, &err), 1, "since may be NULL");
	is_int(pca_spool_endpoint_disabled(sp, "https://other.test/", &since, &err), 0,
	    "other endpoints are unaffected");
	is_int(pca_spool_enable_endpoint(sp, url, &err), 0, "enable");
	is_int(pca_spool_endpoint_disabled(sp, url, &since, &err), 0, "it is enabled again");
	pca_spool_close(sp);
	pca_err_clear(&err);
	free(path);
}

/* --- payloads --- */

static void
test_payload(void)
{
	char *path = in_dir("payload.db");
	struct pca_spool *sp = must_open(path);
	struct pca_spool_item it, *items = NULL;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf big = PCA_BUF_INIT;
	size_t n = 0;

	for (size_t i = 0; i < 5u * 1024 * 1024; i++)
		pca_buf_addc(&big, (char)(i * 7 % 251));
	fill(&it, "email", "big", "c", "a", "");
	pca_buf_add(&it.payload, big.data, big.len);
	ok(memchr(big.data, 0, big.len) != NULL, "the payload has NUL bytes");
	is_int(begin(sp, &it, T0, MINUTE, false, &err), 1, "a 5 MB payload is journaled");
	pca_spool_item_clear(&it);
	pca_spool_close(sp);

	sp = must_open(path);
	claim(sp, "email", T0 + MINUTE + 1, 10, &items, &n);
	is_int(n, 1, "the item is claimed after its lease expired");
	if (n == 1) {
		is_int(items[0].payload.len, big.len, "the payload has its exact size");
		ok(memcmp(items[0].payload.data, big.data, big.len) == 0,
		    "the payload round-trips byte for byte");
	}
	pca_spool_items_free(items, n);

	fill(&it, "email", "empty", "c", "a", "");
	is_int(begin(sp, &it, T0, 0, false, &err), 1, "an empty payload is journaled");
	pca_spool_item_clear(&it);
	ok(fetch(sp, "email", "empty", &it) == 0 && it.payload.len == 0, "and read back empty");
	pca_spool_item_clear(&it);
	pca_spool_close(sp);
	pca_buf_free(&big);
	pca_err_clear(&err);
	free(path);
}

/* --- transactions --- */

static void
test_tx(void)
{
	char *path = in_dir("tx.db");
	struct pca_spool *sp = must_open(path), *other = must_open(path);
	struct pca_err err = PCA_ERR_INIT;
	struct pca_spool_item it;
	char key[32];

	is_int(pca_spool_tx_commit(sp, &err), -1, "commit without a transaction is an error");
	is_int(pca_spool_tx_begin(sp, &err), 0, "tx_begin");
	is_int(pca_spool_tx_begin(sp, &err), -1, "a nested tx_begin is an error");
	ok(strstr(pca_err_msg(&err), path) != NULL, "the error names the file");
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof key, "k%d", i);
		fill(&it, "webhook", key, "c", "a", "p");
		begin(sp, &it, T0, MINUTE, false, &err);
		pca_spool_item_clear(&it);
	}
	is_int(count(other, NULL, T0), 0, "another connection does not see uncommitted items");
	is_int(pca_spool_tx_commit(sp, &err), 0, "tx_commit");
	is_int(count(other, NULL, T0), 3, "it sees them after the commit");

	pca_spool_tx_begin(sp, &err);
	fill(&it, "webhook", "uncommitted", "c", "a", "p");
	begin(sp, &it, T0, MINUTE, false, &err);
	pca_spool_item_clear(&it);
	pca_spool_close(sp);
	is_int(count(other, NULL, T0), 3, "closing with an open transaction rolls it back");
	pca_spool_close(other);
	pca_err_clear(&err);
	free(path);
}

/* --- several processes --- */

#define RACE_ITEMS 2000
#define RACE_CHILDREN 3

static int
fill_pending(const char *path, int count_items, int64_t *ids)
{
	struct pca_spool *sp = must_open(path);
	struct pca_err err = PCA_ERR_INIT;
	char key[32];
	int rc = pca_spool_tx_begin(sp, &err);

	for (int i = 0; i < count_items && rc == 0; i++) {
		snprintf(key, sizeof key, "item-%d", i);
		ids[i] = put_pending(sp, "webhook", key, "c", "a", T0, T0);
		rc = ids[i] > 0 ? 0 : -1;
	}
	if (rc == 0)
		rc = pca_spool_tx_commit(sp, &err);
	pca_spool_close(sp);
	pca_err_clear(&err);
	return rc;
}

/* Workers start together when the parent closes this pipe's write end. */
static int start_gate[2] = { -1, -1 };

static void
wait_for_start(void)
{
	char c;

	close(start_gate[1]);
	while (read(start_gate[0], &c, 1) > 0)
		;
	close(start_gate[0]);
}

static int
finish_batch(struct pca_spool *sp, struct pca_spool_item *items, size_t n, int out,
	struct pca_err *err)
{
	if (pca_spool_tx_begin(sp, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (write(out, &items[i].id, sizeof items[i].id) != sizeof items[i].id ||
		    pca_spool_done(sp, items[i].id, items[i].lease_token, 1, "{}", T0 + 2,
		    err) != 1)
			return -1;
	}
	return pca_spool_tx_commit(sp, err);
}

/* A worker: claim in batches of 10 until nothing is due, "send" (a short
 * sleep, which is also when the others get the lock), mark the batch done,
 * and report each id it got. */
static void
race_child(const char *path, int out)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_spool *sp;
	struct pca_spool_item *items;
	size_t n;

	wait_for_start();
	if (!(sp = pca_spool_open(path, &err)))
		goto fail;
	for (;;) {
		if (pca_spool_claim(sp, "webhook", NULL, T0 + 1, MINUTE, 10, &items, &n, &err) < 0)
			goto fail;
		if (n == 0)
			break;
		usleep(2000);
		if (finish_batch(sp, items, n, out, &err) < 0)
			goto fail;
		pca_spool_items_free(items, n);
	}
	pca_spool_close(sp);
	_exit(0);
fail:
	fprintf(stderr, "race child: %s\n", pca_err_msg(&err));
	_exit(1);
}

static pid_t
spawn(const char *path, int *rd, void (*child)(const char *, int))
{
	int fd[2];
	pid_t pid;

	*rd = -1;
	if (pipe(fd) < 0)
		return -1;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(fd[0]);
		child(path, fd[1]);
	}
	close(fd[1]);
	*rd = fd[0];
	return pid;
}

static size_t
read_ids(int fd, int64_t *ids, size_t max)
{
	size_t n = 0;
	ssize_t r;
	int64_t id;

	while ((r = read(fd, &id, sizeof id)) == sizeof id) {
		if (n < max)
			ids[n] = id;
		n++;
	}
	close(fd);
	return n;
}

static bool
reap(pid_t pid)
{
	int status;

	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;
}

static void
test_race(void)
{
	char *path = in_dir("race.db");
	int64_t *ids = pca_calloc(RACE_ITEMS, sizeof *ids), *got;
	int *seen = pca_calloc(RACE_ITEMS + 1, sizeof *seen), fds[RACE_CHILDREN], twice = 0;
	pid_t pids[RACE_CHILDREN];
	size_t total = 0, n, missing = 0;
	struct pca_spool *sp;
	bool clean = true;

	is_int(fill_pending(path, RACE_ITEMS, ids), 0, "2000 pending items are journaled");
	got = pca_calloc(RACE_ITEMS * 2, sizeof *got);
	if (pipe(start_gate) < 0)
		printf("# pipe: %s\n", strerror(errno));
	for (int c = 0; c < RACE_CHILDREN; c++)
		pids[c] = spawn(path, &fds[c], race_child);
	close(start_gate[0]);
	close(start_gate[1]);
	for (int c = 0; c < RACE_CHILDREN; c++) {
		n = read_ids(fds[c], got + total, RACE_ITEMS * 2 - total);
		printf("# worker %d claimed %zu items\n", c, n);
		total += n;
		clean &= reap(pids[c]);
	}
	ok(clean, "%d workers claimed concurrently without errors", RACE_CHILDREN);
	is_int(total, RACE_ITEMS, "2000 claims in all");
	for (size_t i = 0; i < total && i < RACE_ITEMS * 2; i++)
		if (got[i] >= 1 && got[i] <= RACE_ITEMS && ++seen[got[i]] > 1)
			twice++;
	for (int i = 0; i < RACE_ITEMS; i++)
		missing += seen[ids[i]] != 1;
	is_int(twice, 0, "no item was claimed twice");
	is_int(missing, 0, "every item was claimed exactly once");
	sp = must_open(path);
	is_int(count_state(sp, "done", T0 + 3), RACE_ITEMS, "all items are done");
	pca_spool_close(sp);
	free(ids);
	free(seen);
	free(got);
	free(path);
}

/* Several processes open the same new spool at once: one creates the
 * schema, the others find it; each journals an item. */
static void
create_child(const char *path, int out)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_spool *sp;
	struct pca_spool_item it;
	char key[32];
	int rc;

	(void)out;
	wait_for_start();
	if (!(sp = pca_spool_open(path, &err))) {
		fprintf(stderr, "create child: %s\n", pca_err_msg(&err));
		_exit(1);
	}
	snprintf(key, sizeof key, "pid-%ld", (long)getpid());
	fill(&it, "webhook", key, "c", "a", "p");
	rc = begin(sp, &it, T0, MINUTE, false, &err);
	if (rc != 1)
		fprintf(stderr, "create child: %s\n", pca_err_msg(&err));
	pca_spool_close(sp);
	_exit(rc == 1 ? 0 : 1);
}

/* Opening a new spool switches it to WAL, where SQLite reports a lock at
 * once instead of waiting; the spool must wait. One round rarely collides,
 * so several rounds with more processes than cores. */
#define CREATE_ROUNDS 16
#define CREATE_CHILDREN 6

static void
test_concurrent_create(void)
{
	int fds[CREATE_CHILDREN], failed = 0, short_of = 0;
	pid_t pids[CREATE_CHILDREN];
	struct pca_spool *sp;
	char name[32], *path;

	for (int r = 0; r < CREATE_ROUNDS; r++) {
		snprintf(name, sizeof name, "fresh-%d.db", r);
		path = in_dir(name);
		if (pipe(start_gate) < 0)
			printf("# pipe: %s\n", strerror(errno));
		for (int c = 0; c < CREATE_CHILDREN; c++)
			pids[c] = spawn(path, &fds[c], create_child);
		close(start_gate[0]);
		close(start_gate[1]);
		for (int c = 0; c < CREATE_CHILDREN; c++) {
			close(fds[c]);
			failed += !reap(pids[c]);
		}
		sp = must_open(path);
		short_of += count(sp, NULL, T0) != CREATE_CHILDREN;
		pca_spool_close(sp);
		free(path);
	}
	if (failed)
		printf("# %d processes failed\n", failed);
	ok(failed == 0, "%d processes opening a new spool at once all succeed (%d rounds)",
	    CREATE_CHILDREN, CREATE_ROUNDS);
	is_int(short_of, 0, "each of them journaled its item");
}

/* Claim a batch, report (id, token) pairs, and die without finishing. */
static void
crash_child(const char *path, int out)
{
	struct pca_spool *sp = pca_spool_open(path, NULL);
	struct pca_spool_item *items;
	size_t n;

	if (!sp || pca_spool_claim(sp, "webhook", NULL, T0, MINUTE, 5, &items, &n, NULL) < 0)
		_exit(1);
	for (size_t i = 0; i < n; i++) {
		if (write(out, &items[i].id, sizeof items[i].id) < 0 ||
		    write(out, &items[i].lease_token, sizeof items[i].lease_token) < 0)
			_exit(1);
	}
	_exit(0);
}

static void
test_crash(void)
{
	char *path = in_dir("crash.db");
	int64_t ids[20], dead[10], *tok = dead + 1;
	struct pca_spool_item *items = NULL;
	struct pca_spool *sp;
	size_t n = 0, m, stale = 0, fresh = 0, same = 0;
	int fd = -1;
	pid_t pid;

	fill_pending(path, 20, ids);
	pid = spawn(path, &fd, crash_child);
	m = read_ids(fd, dead, 10) / 2;
	ok(reap(pid), "a worker claimed a batch and died");
	is_int(m, 5, "it held 5 items");

	sp = must_open(path);
	claim(sp, "webhook", T0 + MINUTE / 2, 100, &items, &n);
	is_int(n, 15, "while its lease holds, the dead worker's items are not claimed");
	for (size_t i = 0; i < n; i++)
		pca_spool_done(sp, items[i].id, items[i].lease_token, 1, "{}", T0 + MINUTE / 2, NULL);
	pca_spool_items_free(items, n);

	claim(sp, "webhook", T0 + MINUTE + 1, 100, &items, &n);
	is_int(n, 5, "after the lease expired, its items are claimed again");
	for (size_t i = 0; i < n && i < 5; i++) {
		same += items[i].id == dead[2 * i];
		fresh += items[i].lease_token != tok[2 * i];
		stale += pca_spool_done(sp, dead[2 * i], tok[2 * i], 1, "{\"stale\":1}",
		    T0 + MINUTE + 2, NULL) == 0;
	}
	is_int(same, 5, "the same items, in the same order");
	is_int(fresh, 5, "each with a different token");
	is_int(stale, 5, "the crashed holder's done is ignored");
	for (size_t i = 0; i < n; i++)
		pca_spool_done(sp, items[i].id, items[i].lease_token, 1, "{}", T0 + MINUTE + 3, NULL);
	pca_spool_items_free(items, n);
	is_int(count_state(sp, "done", T0), 20, "all items end done");
	pca_spool_close(sp);
	free(path);
}

/* --- speed --- */

static double
ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static void
test_throughput(void)
{
	char *path = in_dir("speed.db");
	struct pca_spool *sp = must_open(path);
	struct pca_spool_item it;
	struct timespec t;
	char key[32];
	int inserted = 0;

	clock_gettime(CLOCK_MONOTONIC, &t);
	pca_spool_tx_begin(sp, NULL);
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "pca:speed:%d", i);
		fill(&it, "webhook", key, "call", "speed", "{\"type\":\"call.ended\"}");
		inserted += begin(sp, &it, T0, MINUTE, false, NULL) == 1;
		pca_spool_item_clear(&it);
	}
	pca_spool_tx_commit(sp, NULL);
	printf("# 10000 begins in one transaction: %.0f ms\n", ms_since(&t));
	is_int(inserted, 10000, "10000 begins in one transaction");
	pca_spool_close(sp);
	free(path);
}

static int
rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(p);
}

/* A drain for one action claims that action's items only. */
static void
test_claim_action(void)
{
	char *path = in_dir("claim-action.db");
	struct pca_spool *sp = must_open(path);
	struct pca_err err = PCA_ERR_INIT;
	struct pca_spool_item *items;
	size_t n = 0;

	put_pending(sp, "webhook", "pca:crm:c1", "c1", "crm", T0, T0);
	put_pending(sp, "webhook", "pca:ops:c1", "c1", "ops", T0, T0);
	put_pending(sp, "webhook", "pca:crm:c2", "c2", "crm", T0, T0);
	is_int(pca_spool_claim(sp, "webhook", "ops", T0, MINUTE, 10, &items, &n, &err), 0,
	    "claim for one action");
	ok(n == 1 && strcmp(items[0].action_id, "ops") == 0, "only that action's item is leased");
	pca_spool_items_free(items, n);
	is_int(pca_spool_claim(sp, "webhook", NULL, T0, MINUTE, 10, &items, &n, &err), 0,
	    "claim for every action");
	is_int(n, 2, "the others are still there, untouched");
	pca_spool_items_free(items, n);
	pca_err_clear(&err);
	pca_spool_close(sp);
	free(path);
}

int
main(void)
{
	char tmpl[] = "/tmp/pca-test-spool-XXXXXX";

	if (!(dir = mkdtemp(tmpl))) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	chmod(dir, 0755); /* the unprivileged child must reach ro/ */
	test_open();
	test_newer_schema();
	test_not_a_database();
	test_unwritable();
	test_begin();
	test_claim();
	test_claim_action();
	test_retry_dead_requeue();
	test_filters();
	test_endpoints();
	test_payload();
	test_tx();
	test_race();
	test_concurrent_create();
	test_crash();
	test_throughput();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
