/*
 * store/batch.h: private to store/.  The layout of struct st_batch, shared
 * by the batch builder (batch.c) and the backends that write it.
 */
#ifndef FS_STORE_BATCH_H
#define FS_STORE_BATCH_H

#include <stdint.h>

#include "store/store.h"
#include "util/map.h"
#include "util/vec.h"

struct st_bthread {
	int tno;
	size_t name, tid;		/* offsets into text */
};

struct st_bbmap {
	uint64_t fid;
	uint32_t bno;
	uint64_t addr;
	int64_t first_us, last_us;
};

struct st_bline {
	uint64_t src_off, lineno;
	size_t text, len;		/* offset into text, length */
};

struct st_bepisode {
	int tno;
	struct st_episode ep;
};

struct st_bthrstat {
	int tno;
	struct st_thread_stats st;
};


struct st_batch {
	struct st_source src;
	int has_source;
	int replace_derived;
	int has_expect;			/* check the stored done_off first */
	uint64_t expect_off;
	int has_run;			/* check the source is still claimed by run */
	uint64_t expect_run;
	int oom;			/* an adder failed to allocate */

	/* the arrays of rows (each also in BATCH_ARRAYS, store/batch.c) */
	FS_VEC(struct st_bthread) threads;
	FS_VEC(struct st_bbmap) bmaps;
	struct fs_map bmap_idx;		/* (fid, bno) -> index into bmaps.v */
	size_t bmap_last;		/* the bmap noted last (a cache) */
	FS_VEC(struct st_rpc) rpcs;
	FS_VEC(struct st_write) writes;
	FS_VEC(struct st_state) states;
	FS_VEC(struct st_forced) forced;
	FS_VEC(struct st_bline) unparsed;
	FS_VEC(struct st_bline) lines;
	FS_VEC(struct st_bepisode) episodes;
	FS_VEC(struct st_series) series;
	FS_VEC(struct st_bmap_stat) bstats;
	FS_VEC(struct st_bthrstat) tstats;

	char *text;			/* arena for names and line texts */
	size_t text_n, text_cap;
};

#endif
