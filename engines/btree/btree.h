/*
 * engines/btree/btree.h - the B-tree engine's page format, exposed for its
 * unit tests (specified at the top of btree.c).
 */
#ifndef TORN_ENGINES_BTREE_BTREE_H
#define TORN_ENGINES_BTREE_BTREE_H

#include <stddef.h>
#include <stdint.h>

#define BT_PAGE 4096
#define BT_PAGEHDR 24
#define BT_CAP (BT_PAGE - BT_PAGEHDR) /* bytes for entries */
#define BT_MIN_FILL (BT_CAP / 4)      /* every non-root node holds at least this */
#define BT_MAX_VAL 1024
#define BT_MAGIC 0x313042544e524f54ull /* "TORNBT01" */
#define BT_VERSION 1

enum { BT_LEAF = 1, BT_BRANCH = 2 };

struct bt_meta {
	uint64_t txn;
	uint32_t root; /* 0: empty tree */
	uint32_t npages;
	uint32_t depth;
};

void bt_meta_encode(uint8_t *page, const struct bt_meta *m);
int bt_meta_decode(const uint8_t *page, struct bt_meta *m);

/* a decoded page entry: key, and value (leaf) or child (branch) */
struct bt_pent {
	const uint8_t *key;
	size_t klen;
	const uint8_t *val;
	size_t vlen;
	uint32_t child;
};

/* header + checksum around already laid-out entries */
void bt_page_seal(uint8_t *page, uint32_t pgno, int type, int count, uint64_t txn);
/* check checksum, pgno and layout; fill up to max entries */
int bt_page_decode(const uint8_t *page, uint32_t pgno, int *type, struct bt_pent *ents,
		   int max, int *count);

#endif /* TORN_ENGINES_BTREE_BTREE_H */
