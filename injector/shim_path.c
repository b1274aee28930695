/*
 * injector/shim_path.c - is this path under the recording root?
 *
 * Sections: 1. kernel names of descriptors, 2. resolving a path,
 * 3. classifying against the root.
 *
 * The kernel does the resolving: a directory is opened O_PATH (no access
 * needed but search permission, no side effect on the object) and its
 * /proc/self/fd entry read back, which gives the path with every symlink
 * and ".." resolved, exactly as the call itself will see it.  The last
 * component is appended as given for calls that name an entry (unlink,
 * rename, mkdir, the target of link and symlink), or followed too for calls
 * that act on the object (open, truncate).  No allocation: everything is on
 * the caller's stack (struct shim_path, PATH_MAX bytes).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "shim_int.h"

/* ==========================================================================
 * 1. KERNEL NAMES OF DESCRIPTORS
 * ========================================================================== */

void shim_proc_fd_name(char *buf, int fd)
{
	static const char pre[] = "/proc/self/fd/";
	char digits[16];
	int n = 0;
	unsigned u = (unsigned)fd;

	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	memcpy(buf, pre, sizeof(pre) - 1);
	buf += sizeof(pre) - 1;
	while (n)
		*buf++ = digits[--n];
	*buf = '\0';
}

static void classify(struct shim_path *p);

/* readlink @link into @p; the result must be an absolute path. */
static int read_link(struct shim_path *p, const char *link)
{
	ssize_t n = readlink(link, p->abs, sizeof(p->abs) - 1);

	if (n < 0)
		return -errno;
	if (n == 0 || (size_t)n >= sizeof(p->abs) - 1 || p->abs[0] != '/')
		return -ENOENT;   /* "pipe:[..]", "anon_inode:..", or too long */
	p->abs[n] = '\0';
	p->len = (size_t)n;
	return 0;
}

int shim_path_fd(struct shim_path *p, int fd)
{
	char link[32];
	int rc;

	p->in = 0;
	if (fd == AT_FDCWD) {
		rc = read_link(p, "/proc/self/cwd");
	} else {
		shim_proc_fd_name(link, fd);
		rc = read_link(p, link);
	}
	if (rc == 0)
		classify(p);
	return rc;
}

/* ==========================================================================
 * 2. RESOLVING A PATH
 * ========================================================================== */

/* Resolve a whole existing path with O_PATH. */
static int resolve_whole(struct shim_path *p, int dirfd, const char *path, int follow)
{
	int fd = SHIM_REAL(openat)(dirfd, path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	int rc;

	if (fd < 0)
		return -errno;
	rc = shim_path_fd(p, fd);
	SHIM_REAL(close)(fd);
	return rc;
}

int shim_path_resolve(struct shim_path *p, int dirfd, const char *path, int follow)
{
	char tmp[PATH_MAX];
	size_t n, last_len;
	char *slash;
	const char *last;
	int rc, dot;

	p->in = 0;
	if (!path)
		return -EFAULT;
	n = strlen(path);
	if (n == 0)
		return -ENOENT;
	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	while (n > 1 && tmp[n - 1] == '/')   /* "dir/" names "dir" */
		tmp[--n] = '\0';
	slash = strrchr(tmp, '/');
	last = slash ? slash + 1 : tmp;
	dot = strcmp(last, ".") == 0 || strcmp(last, "..") == 0 || strcmp(tmp, "/") == 0;

	/* The object itself when it exists and is to be followed (or when the
	 * last component is "." or "..", which only the kernel can resolve). */
	if (follow || dot) {
		rc = resolve_whole(p, dirfd, tmp, follow);
		if (rc == 0 || dot)
			return rc;
	}

	/* Otherwise the parent directory, then the entry's name. */
	if (!slash) {
		rc = shim_path_fd(p, dirfd);
	} else {
		if (slash == tmp) {
			rc = resolve_whole(p, dirfd, "/", 1);
		} else {
			*slash = '\0';
			rc = resolve_whole(p, dirfd, tmp, 1);
		}
	}
	if (rc < 0)
		return rc;
	last_len = strlen(last);
	if (p->len + 1 + last_len >= sizeof(p->abs))
		return -ENAMETOOLONG;
	if (p->len > 1)                 /* "/" + name: no double slash */
		p->abs[p->len++] = '/';
	memcpy(p->abs + p->len, last, last_len + 1);
	p->len += last_len;
	classify(p);
	return 0;
}

/* ==========================================================================
 * 3. CLASSIFYING AGAINST THE ROOT
 * ========================================================================== */

/* The root is absolute and resolved, without a trailing '/'; "/" itself is
 * the empty string.  An object is in when its path is the root or starts
 * with the root followed by '/'. */
static void classify(struct shim_path *p)
{
	const char *root = shim_root();
	size_t rl = shim_root_len();

	p->in = 0;
	p->rel = p->len;
	if (!root || p->abs[0] != '/')
		return;
	if (rl == 0) {
		p->in = 1;
		p->rel = p->len > 1 ? 1 : p->len;
		return;
	}
	if (p->len < rl || memcmp(p->abs, root, rl) != 0)
		return;
	if (p->len == rl) {
		p->in = 1;
		p->rel = p->len;
	} else if (p->abs[rl] == '/') {
		p->in = 1;
		p->rel = rl + 1;
	}
}
