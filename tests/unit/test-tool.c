/* lib/tool: what a program says when its output fails. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#include "tool.h"

/* In a child whose stdout is a pipe nobody reads: write until it fails,
 * then do what the programs do between writes (a non-blocking read that
 * leaves errno at EAGAIN), and finish. */
static void
writer_child(int out, int err)
{
	static char block[1 << 16];
	int status;

	dup2(out, 1);
	dup2(err, 2);
	pca_tool_init("pca-test");
	memset(block, 'x', sizeof block);
	for (int i = 0; i < 64 && pca_out(block, sizeof block); i++)
		;
	errno = EAGAIN;
	status = pca_stdout_ok() ? 0 : 1;
	errno = EAGAIN;
	_exit(status == 1 ? pca_tool_finish(0) : 99);
}

static void
test_reason_of_a_failed_write(void)
{
	int out[2], err[2], status = 0;
	char said[512];
	ssize_t n;
	pid_t pid;

	if (pipe(out) < 0 || pipe(err) < 0) {
		ok(0, "pipes: %s", strerror(errno));
		return;
	}
	close(out[0]);  /* the reader is gone before the first write */
	fflush(stdout);
	if ((pid = fork()) == 0)
		writer_child(out[1], err[1]);
	close(out[1]);
	close(err[1]);
	for (size_t got = 0;; got += (size_t)n) {
		n = read(err[0], said + got, sizeof said - 1 - got);
		if (n <= 0) {
			said[got] = '\0';
			break;
		}
	}
	close(err[0]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 74, "a failed output ends in 74 (status %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	is_str(said, "pca-test: writing output failed: Broken pipe\n",
	    "the reason is the write's own, not what errno said later");
}

int
main(void)
{
	test_reason_of_a_failed_write();
	return tap_done();
}
