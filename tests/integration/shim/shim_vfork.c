/*
 * tests/integration/shim/shim_vfork.c - a vfork child that redirects its
 * stdout into the root and execs (as a shell does): the child runs in the
 * parent's memory, so the shim's descriptor table must not take the
 * child's changes, or the parent's own stdout (outside the root) would be
 * recorded as writes to the child's file.
 *
 *   shim_vfork DIR
 *
 * The child opens DIR/child.out, dup2s it onto 1 and execs
 * `sh -c 'echo from the child'`; the parent then writes to its own stdout
 * and to DIR/parent.out.  The test compares the trace's rebuild with DIR.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096];
	pid_t pid;
	int st, fd;

	if (argc != 2) {
		fprintf(stderr, "usage: shim_vfork DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/child.out", argv[1]);
	pid = vfork();
	if (pid == 0) {
		fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) != 1 || close(fd) != 0)
			_exit(3);
		execl("/bin/sh", "sh", "-c", "echo from the child", (char *)NULL);
		_exit(4);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	/* The parent's stdout is not under the root. */
	if (write(1, "parent output\n", 14) != 14)
		return 1;
	snprintf(path, sizeof(path), "%s/parent.out", argv[1]);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "parent file\n", 12) != 12 || close(fd) != 0)
		return 1;
	return 0;
}
