/* tests/integration/record/static.c - linked statically, so the shim cannot
 * be preloaded: `torn record` must warn that nothing was recorded.  With
 * the argument "mark" it writes the line "static mark" to $TORN_MARK_FD
 * instead: a mark writer the shim does not see. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "mark")) {
		const char *fd = getenv("TORN_MARK_FD");

		return fd && write(atoi(fd), "static mark\n", 12) == 12 ? 0 : 1;
	}
	return write(STDOUT_FILENO, "static\n", 7) == 7 ? 0 : 1;
}
