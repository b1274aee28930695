/* tests/integration/record/static.c - linked statically, so the shim cannot
 * be preloaded: `torn record` must warn that nothing was recorded. */
#include <unistd.h>

int main(void)
{
	return write(STDOUT_FILENO, "static\n", 7) == 7 ? 0 : 1;
}
