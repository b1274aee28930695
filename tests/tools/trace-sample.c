/*
 * tests/tools/trace-sample.c - write a small trace with every kind of event,
 * by hand (tests/unit/trace_builder.h), for the tests of torn info / dump.
 *
 *	trace-sample OUT            a complete trace
 *	trace-sample OUT cut N      the same, its last N bytes cut off
 *	trace-sample OUT corrupt    the same with one byte of record 5 flipped
 *
 * What it holds (the tests check these numbers): 2 processes; a snapshot of
 * one directory, one 5-byte file and one symlink; 6 writes (4 buffered,
 * 2 direct, 1 of them misaligned, 1 O_DSYNC) of 4+4+4+3+512+100 = 627
 * bytes, two of them with the same content (one blob fewer); fsync and
 * fdatasync of files, fsync of a directory, sync; 2 marks; 1 fault; an
 * mmap, an msync and an unsupported call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/trace_builder.h"

int main(int argc, char **argv)
{
	static char sector[512];
	struct torn_event ev;
	int fd;

	if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "cut")) &&
	    !(argc == 3 && !strcmp(argv[2], "corrupt"))) {
		fprintf(stderr, "usage: trace-sample OUT [cut N | corrupt]\n");
		return 2;
	}
	memset(sector, 's', sizeof(sector));
	tb_open(argv[1]);
	tb_root();
	tb_init_dir("", 0755);
	tb_init_dir("data", 0755);
	tb_init_file("data/old", 0644, "hello", 5);
	tb_init_symlink("latest", "data/old");
	tb_init_done();
	tb_open_file(1, "data/log", TORN_F_CREATED);
	tb_write(1, 0, "abcd", 4, 0);
	tb_write(1, 4, "abcd", 4, 0);                  /* same content: no new blob */
	tb_write(1, 8, "efgh", 4, 0);
	tb_fsync(1);
	tb_mark("put k1 \"quoted\"\tand tabbed");
	tb_open_file_ex(2, "data/direct", TORN_F_CREATED, O_RDWR | O_CREAT | O_DIRECT | O_DSYNC,
			0100600);
	tb_write(2, 0, sector, sizeof(sector), TORN_F_DIRECT | TORN_F_SYNC);
	tb_write(2, 700, sector, 100, TORN_F_DIRECT | TORN_F_MISALIGNED);
	tb_fdatasync(2);
	tb_open_dir(3, "data");
	tb_rename("data/log", "data/log.1", 0);
	tb_fsync(3);
	ev = tb_ev(TORN_EV_PROC_FORK);
	ev.result = 4242;
	tb_event(&ev);
	tb_pid(4242, 4242);
	tb_open_file(4, "data/child", TORN_F_CREATED);
	tb_write(4, 0, "kid", 3, 0);
	ev = tb_ev(TORN_EV_MMAP);
	ev.handle = 4;
	ev.len = 4096;
	tb_event(&ev);
	ev = tb_ev(TORN_EV_MSYNC);
	ev.handle = 4;
	ev.len = 4096;
	tb_event(&ev);
	ev = tb_ev(TORN_EV_UNSUPPORTED);
	TB_STR(ev, text, "copy_file_range on a recorded file");
	tb_event(&ev);
	ev = tb_ev(TORN_EV_PROC_EXIT);
	tb_event(&ev);
	tb_pid(1000, 1000);
	tb_fault("posix/io/sync/fsync", -EIO);
	tb_next_result(-EIO);
	tb_fsync(1);
	tb_sync();
	tb_unlink("data/old");
	tb_mark("done");
	tb_end();
	tb_close();

	if (argc == 4) {
		off_t cut = atoll(argv[3]);
		fd = open(argv[1], O_WRONLY);
		if (fd < 0 || lseek(fd, -cut, SEEK_END) < 0 || ftruncate(fd, lseek(fd, 0, SEEK_CUR)) < 0) {
			perror(argv[1]);
			return 1;
		}
		close(fd);
	} else if (argc == 3) {
		/* Records 0..4 are root, init-dir x2, blob, init-file: flip a byte
		 * inside record 5 (init-symlink), found by walking the lengths. */
		unsigned char b[4];
		off_t at = TORN_TRACE_HDR_LEN;
		fd = open(argv[1], O_RDWR);
		for (int i = 0; i < 5; i++) {
			if (pread(fd, b, 4, at) != 4)
				return 1;
			at += b[0] | b[1] << 8 | b[2] << 16 | (off_t)b[3] << 24;
		}
		if (pread(fd, b, 1, at + 40) != 1)
			return 1;
		b[0] ^= 0x40;
		if (pwrite(fd, b, 1, at + 40) != 1)
			return 1;
		printf("%lld\n", (long long)at);
		close(fd);
	}
	return 0;
}
