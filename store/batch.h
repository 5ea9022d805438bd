/*
 * store/batch.h: private to store/.  The layout of struct st_batch, shared
 * by the batch builder (batch.c) and the backends that write it.
 */
#ifndef FS_STORE_BATCH_H
#define FS_STORE_BATCH_H

#include <stdint.h>

#include "store/store.h"

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

#define ST_ARR(T) struct { T *v; size_t n, cap; }

struct st_batch {
	struct st_source src;
	int has_source;
	int replace_derived;
	int has_expect;			/* check the stored done_off first */
	uint64_t expect_off;
	int oom;			/* an adder failed to allocate */

	ST_ARR(struct st_bthread) threads;
	ST_ARR(struct st_bbmap) bmaps;
	uint32_t *bmap_slot;		/* open addressing: index+1 into bmaps.v, 0 empty */
	size_t bmap_cap;
	ST_ARR(struct st_rpc) rpcs;
	ST_ARR(struct st_write) writes;
	ST_ARR(struct st_state) states;
	ST_ARR(struct st_forced) forced;
	ST_ARR(struct st_bline) unparsed;
	ST_ARR(struct st_bline) lines;
	ST_ARR(struct st_bepisode) episodes;
	ST_ARR(struct st_series) series;
	ST_ARR(struct st_bmap_stat) bstats;
	ST_ARR(struct st_bthrstat) tstats;

	char *text;			/* arena for names and line texts */
	size_t text_n, text_cap;
};

#endif
