/*
 * bench/stdump.c: prints st_dump() of a database (every stored row in a
 * canonical order, without row ids or commit times), so bench/ingest.sh
 * can check that a parallel ingest stored what --jobs 1 stores.
 *
 *   stdump DB > dump.txt
 */
#include <stdio.h>

#include "store/store.h"

int
main(int argc, char **argv)
{
	struct st_store *st;
	struct fs_err err;

	if (argc != 2) {
		fprintf(stderr, "usage: stdump DB\n");
		return 2;
	}
	if ((st = st_open(argv[1], ST_OPEN_READONLY, &err)) == NULL ||
	    st_dump(st, stdout, &err) != 0) {
		fprintf(stderr, "stdump: %s\n", err.msg);
		st_close(st);
		return 3;
	}
	st_close(st);
	return 0;
}
