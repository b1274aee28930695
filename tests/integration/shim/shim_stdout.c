/*
 * tests/integration/shim/shim_stdout.c - a program whose stdout is a file
 * under the root (run as `shim_stdout > ROOT/out.txt`).
 *
 * Prints lines with printf, puts and putchar (interposed) and words with
 * putw (not interposed: libc flushes the buffer behind the shim's back),
 * then fsyncs stdout's descriptor without fflush: the bytes in the file at
 * that moment (printed on stderr as "synced N") must all be recorded
 * before the fsync (shim_check covered).  Then it prints more and exits
 * (glibc's exit flush, recorded by the shim's destructor).
 */
#include <stdio.h>
#include <unistd.h>

#include "torn/mark.h"

int main(void)
{
	long long n;

	for (int i = 0; i < 300; i++)
		printf("line %d of the report\n", i);
	puts("a line from puts");
	for (int i = 0; i < 10; i++)
		putchar('a' + i);
	putchar('\n');
	for (int i = 0; i < 6000; i++)
		putw(0x41424344 + i, stdout);
	/* Durable: only what libc has already written out. */
	if (fsync(1) != 0) {
		perror("fsync");
		return 1;
	}
	n = (long long)lseek(1, 0, SEEK_CUR);
	fprintf(stderr, "synced %lld\n", n);
	torn_mark("synced %lld", n);
	for (int i = 0; i < 100; i++)
		printf("after the sync %d\n", i);
	return 0;
}
