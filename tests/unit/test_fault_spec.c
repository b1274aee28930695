/*
 * tests/unit/test_fault_spec.c - the fault-spec parser and the failure
 * point table (injector/fault_spec.c): both forms parsed field by field,
 * every kind of bad spec refused with a message naming the bad part, the
 * canonical format parsing back to an equal spec, and the point table
 * built from the shim's call table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "injector/fault_spec.h"

static struct fault_spec parse_ok(const char *text)
{
	struct fault_spec f;
	char err[512] = "";
	int rc = fault_spec_parse(text, &f, err, sizeof(err));

	if (rc != 0)
		print_error("'%s': %s\n", text, err);
	assert_int_equal(rc, 0);
	return f;
}

/* The spec is refused and the message contains @want. */
static void parse_bad(const char *text, const char *want)
{
	struct fault_spec f;
	char err[512] = "";

	assert_int_equal(fault_spec_parse(text, &f, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		print_error("'%s': got '%s', want '%s'\n", text, err, want);
	assert_non_null(strstr(err, want));
}

static void test_points(void **state)
{
	const struct fault_point *pts, *p;
	size_t n = fault_points(&pts);

	(void)state;
	assert_true(n > 20);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(pts[i - 1].name, pts[i].name) < 0);   /* sorted, distinct */
	p = fault_point_find("posix/io/sync/fsync");
	assert_non_null(p);
	assert_string_equal(p->calls, "fsync");
	assert_int_equal(p->flags, 0);
	/* EIO is among the errnos fsync may be given */
	int eio = 0;
	for (const int *e = p->errnos; *e; e++)
		eio |= *e == EIO;
	assert_true(eio);
	p = fault_point_find("posix/io/rw/pwrite");
	assert_non_null(p);
	assert_string_equal(p->calls, "pwrite pwrite64");
	assert_int_equal(p->flags, FAULT_PT_SHORT);
	p = fault_point_find("posix/io/rw/write/reduce");
	assert_non_null(p);
	assert_int_equal(p->flags, FAULT_PT_REDUCE);
	assert_non_null(fault_point_find("posix/io/oc/open"));
	assert_non_null(strstr(fault_point_find("posix/io/oc/open")->calls, "openat"));
	assert_non_null(fault_point_find("posix/io/oc/close"));
	assert_non_null(fault_point_find("linux/io/sync_file_range"));
	assert_int_equal(fault_point_find("torn/uring/write")->flags, FAULT_PT_URING);
	assert_non_null(fault_point_find("torn/uring/fsync"));
	/* hand-written wrappers that do not inject have no point */
	assert_null(fault_point_find("posix/mm/mmap"));
	assert_null(fault_point_find("posix/io/sync/sync_file_range"));
	assert_null(fault_point_find("nonsense"));
}

static void test_errno_names(void **state)
{
	(void)state;
	assert_int_equal(fault_errno_parse("EIO"), EIO);
	assert_int_equal(fault_errno_parse("ENOSPC"), ENOSPC);
	assert_int_equal(fault_errno_parse("EDQUOT"), EDQUOT);
	assert_int_equal(fault_errno_parse("EIOX"), 0);
	assert_int_equal(fault_errno_parse("eio"), 0);
	assert_string_equal(fault_errno_name(EINTR), "EINTR");
}

static void test_fiu_form(void **state)
{
	struct fault_spec f;

	(void)state;
	f = parse_ok("enable name=posix/io/sync/fsync");
	assert_int_equal(f.form, FAULT_FORM_FIU);
	assert_int_equal(f.cmd, FAULT_ENABLE);
	assert_string_equal(f.point, "posix/io/sync/fsync");
	assert_int_equal(f.failnum, 1);
	assert_int_equal(f.err, 0);
	assert_int_equal(f.onetime, 0);

	f = parse_ok("enable name=posix/io/sync/fsync,failnum=5,failinfo=EIO,onetime");
	assert_int_equal(f.failnum, 5);
	assert_int_equal(f.err, EIO);
	assert_int_equal(f.onetime, 1);

	f = parse_ok("enable  name=posix/io/rw/write,failinfo=28");
	assert_int_equal(f.err, ENOSPC);

	f = parse_ok("enable_random name=posix/io/rw/pwrite,probability=0.25");
	assert_int_equal(f.cmd, FAULT_ENABLE_RANDOM);
	assert_true(f.probability == 0.25);

	f = parse_ok("disable name=posix/io/rw/pwrite");
	assert_int_equal(f.cmd, FAULT_DISABLE);

	/* libfiu's wildcard, when it matches something */
	f = parse_ok("enable name=posix/io/sync/*,failinfo=EIO");
	assert_string_equal(f.point, "posix/io/sync/*");

	f = parse_ok("enable name=posix/io/rw/write/reduce");
	assert_string_equal(f.point, "posix/io/rw/write/reduce");
}

static void test_torn_form(void **state)
{
	struct fault_spec f;

	(void)state;
	f = parse_ok("fsync@wal.log#3=EIO");
	assert_int_equal(f.form, FAULT_FORM_TORN);
	assert_string_equal(f.point, "posix/io/sync/fsync");
	assert_string_equal(f.path, "wal.log");
	assert_int_equal(f.nth, 3);
	assert_int_equal(f.and_later, 0);
	assert_int_equal(f.err, EIO);

	f = parse_ok("pwrite@data/000001.log#2+=ENOSPC");
	assert_string_equal(f.point, "posix/io/rw/pwrite");
	assert_string_equal(f.path, "data/000001.log");
	assert_int_equal(f.nth, 2);
	assert_int_equal(f.and_later, 1);
	assert_int_equal(f.err, ENOSPC);

	f = parse_ok("write@kv.log#5=short:100");
	assert_int_equal(f.is_short, 1);
	assert_int_equal(f.short_bytes, 100);
	assert_int_equal(f.err, 0);

	f = parse_ok("write@kv.log=short");
	assert_int_equal(f.nth, 1);
	assert_int_equal(f.is_short, 1);
	assert_int_equal(f.short_bytes, 0);

	f = parse_ok("fdatasync@.=5");                 /* the root itself, errno by number */
	assert_string_equal(f.path, "");
	assert_int_equal(f.err, EIO);

	f = parse_ok("posix/io/dir/rename@a/b#1=EXDEV"); /* a full point name */
	assert_string_equal(f.point, "posix/io/dir/rename");

	/* the last part shared by posix/io/rw/write and torn/uring/write: the
	 * libfiu one; the uring one by a longer suffix */
	f = parse_ok("write@f=EIO");
	assert_string_equal(f.point, "posix/io/rw/write");
	f = parse_ok("uring/write@f=EIO");
	assert_string_equal(f.point, "torn/uring/write");
	f = parse_ok("uring/fsync@f#2=EIO");
	assert_string_equal(f.point, "torn/uring/fsync");

	/* a '#' that is not followed by a count belongs to the file name */
	f = parse_ok("write@a#b=EIO");
	assert_string_equal(f.path, "a#b");
	assert_int_equal(f.nth, 1);
	f = parse_ok("open@x@y=EACCES");
	assert_string_equal(f.path, "x@y");
	f = parse_ok("write@my file.log#2=EIO");        /* a path with a space */
	assert_string_equal(f.path, "my file.log");
	assert_int_equal(f.nth, 2);
}

static void test_bad(void **state)
{
	(void)state;
	parse_bad("", "empty fault spec");
	parse_bad("fsync@wal.log#3=EIOX", "unknown errno 'EIOX'");
	parse_bad("fsync@wal.log#3=", "unknown errno ''");
	parse_bad("fsink@wal.log=EIO", "unknown call 'fsink'");
	parse_bad("@wal.log=EIO", "missing or too long CALL");
	parse_bad("fsync@=EIO", "missing PATH");
	parse_bad("fsync@#2=EIO", "missing PATH");
	parse_bad("fsync@/abs/wal=EIO", "bad PATH '/abs/wal'");
	parse_bad("fsync@a/../b=EIO", "bad PATH 'a/../b'");
	parse_bad("fsync@wal.log#0=EIO", "expected #N (a call count from 1)");
	parse_bad("fsync@wal.log#=EIO", "expected #N");
	parse_bad("fsync@wal.log#+=EIO", "expected #N");
	parse_bad("fsync@wal.log=short", "'short' applies to the write calls");
	parse_bad("write@kv.log=short:x", "expected short:BYTES");
	parse_bad("write@kv.log=short:0", "short:0 keeps nothing");
	parse_bad("write/reduce@kv.log=EIO", "libfiu short-write point");
	parse_bad("fsync wal.log", "expected a libfiu command");
	parse_bad("fsync", "expected CALL@PATH");
	parse_bad("fsync x@wal.log=EIO", "unknown call 'fsync x'");
	parse_bad("enable", "expected 'enable name=FAILURE_POINT");
	parse_bad("enable name=posix/io/sync/fsyncx", "unknown failure point 'posix/io/sync/fsyncx'");
	parse_bad("enable name=posix/nothing/*", "unknown failure point 'posix/nothing/*'");
	parse_bad("enable name=posix/io/sync/fsync,failinfo=EIOX", "unknown errno 'EIOX'");
	parse_bad("enable name=posix/io/sync/fsync,failinfo=99999", "unknown errno '99999'");
	parse_bad("enable name=posix/io/sync/fsync,failnum=0", "failnum: expected a non-zero");
	parse_bad("enable name=posix/io/sync/fsync,colour=red", "unknown libfiu parameter 'colour'");
	parse_bad("enable name=posix/io/sync/fsync,failinfo", "expected key=value");
	parse_bad("enable failinfo=EIO", "expected name=FAILURE_POINT");
	parse_bad("enable_random name=posix/io/sync/fsync", "expected probability=P");
	parse_bad("enable_random name=posix/io/sync/fsync,probability=1.5",
		  "probability: expected a number from 0 to 1, got '1.5'");
	parse_bad("enable name=posix/io/sync/fsync,probability=0.5", "probability is for enable_random");
	parse_bad("disable name=posix/io/sync/fsync,failinfo=EIO", "disable takes only name");
	parse_bad("enable name=posix/io/rw/write/reduce,failinfo=EIO", "no meaning for the short-write");
	parse_bad("enable name=posix/io/sync/fsync extra", "one word of parameters");
	parse_bad("enable_stack_by_name name=posix/io/sync/fsync,func_name=f", "not supported");
	parse_bad("fsync@wal\nlog=EIO", "control character");
}

/* format(parse(x)) parses to an equal spec, and is a fixed point. */
static void round_trip(const char *text, const char *canonical)
{
	struct fault_spec a, b;
	char buf[FAULT_TEXT_MAX], buf2[FAULT_TEXT_MAX], err[512];

	a = parse_ok(text);
	assert_true(fault_spec_format(&a, buf, sizeof(buf)) > 0);
	if (canonical)
		assert_string_equal(buf, canonical);
	assert_int_equal(fault_spec_parse(buf, &b, err, sizeof(err)), 0);
	assert_true(fault_spec_equal(&a, &b));
	assert_true(fault_spec_format(&b, buf2, sizeof(buf2)) > 0);
	assert_string_equal(buf, buf2);
}

static void test_round_trip(void **state)
{
	struct fault_spec a, b;
	char buf[16];

	(void)state;
	round_trip("fsync@wal.log#3=EIO", "posix/io/sync/fsync@wal.log#3=EIO");
	round_trip("pwrite@data/000001.log#2+=ENOSPC", "posix/io/rw/pwrite@data/000001.log#2+=ENOSPC");
	round_trip("write@kv.log#5=short:100", "posix/io/rw/write@kv.log#5=short:100");
	round_trip("write@kv.log=short", "posix/io/rw/write@kv.log#1=short");
	round_trip("fdatasync@.=5", "posix/io/sync/fdatasync@.#1=EIO");
	round_trip("write@a#b=EIO", "posix/io/rw/write@a#b#1=EIO");
	round_trip("write@a#7x#2=EINTR", NULL);
	round_trip("write@my file#3+=EIO", "posix/io/rw/write@my file#3+=EIO");
	round_trip("write@a#5#1=EIO", "posix/io/rw/write@a#5#1=EIO");
	round_trip("enable name=posix/io/sync/fsync,failinfo=5,onetime",
		   "enable name=posix/io/sync/fsync,failinfo=EIO,onetime");
	round_trip("enable name=posix/io/sync/fsync,failnum=7", "enable name=posix/io/sync/fsync,failnum=7");
	round_trip("enable_random name=posix/io/rw/pwrite,probability=0.1",
		   "enable_random name=posix/io/rw/pwrite,probability=0.1");
	round_trip("enable_random name=posix/io/rw/*,probability=1e-5,failinfo=ENOSPC", NULL);
	round_trip("disable name=posix/io/rw/pwrite", "disable name=posix/io/rw/pwrite");

	/* the libfiu command as fiu_rc_string takes it: numbers for errnos */
	a = parse_ok("enable name=posix/io/sync/fsync,failinfo=EIO,onetime");
	assert_true(fault_spec_fiu_cmd(&a, buf, sizeof(buf)) == -ENOSPC);
	{
		char cmd[256];

		assert_true(fault_spec_fiu_cmd(&a, cmd, sizeof(cmd)) > 0);
		assert_string_equal(cmd, "enable name=posix/io/sync/fsync,failinfo=5,onetime");
	}
	b = parse_ok("fsync@wal.log=EIO");
	assert_int_equal(fault_spec_fiu_cmd(&b, buf, sizeof(buf)), -EINVAL);
	assert_false(fault_spec_equal(&a, &b));
	/* too small a buffer */
	assert_int_equal(fault_spec_format(&b, buf, sizeof(buf)), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_points),
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_fiu_form),
		cmocka_unit_test(test_torn_form),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
