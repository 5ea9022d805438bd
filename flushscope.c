/*
 * flushscope: the command dispatcher.
 *   flushscope [global options] <command> [options] [args]
 * The command table is cmd/commands.h; each command is cmd/<name>.c and
 * declares its options in a table (cmd/opt.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "store/store.h"
#include "util/err.h"

struct fs_cmd {
	const char *name;
	int (*fn)(int, char **);
};

static const struct fs_cmd commands[] = {
#define CMD(name, fn, spec) { #name, fn },
#include "cmd/commands.h"
#undef CMD
	{ "help", cmd_help },
	{ NULL, NULL }
};

/* Finds a command by name. */
static const struct fs_cmd *
find_cmd(const char *name)
{
	size_t i;

	for (i = 0; commands[i].name != NULL; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct fs_cmd *c;
	int i;

	st_process_init();
	fs_global.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("flushscope %s\n", FS_VERSION);
			return FS_EXIT_OK;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fs_help_list(stdout);
			return FS_EXIT_OK;
		} else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
			fs_global.quiet = 1;
		} else {
			fs_warn(NULL, "unknown option '%s'\ntry 'flushscope --help'", argv[i]);
			return FS_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		fs_warn(NULL, "no command given\ntry 'flushscope --help'");
		return FS_EXIT_USAGE;
	}
	if ((c = find_cmd(argv[i])) == NULL) {
		fs_warn(NULL, "'%s' is not a command\ntry 'flushscope --help'", argv[i]);
		return FS_EXIT_USAGE;
	}
	return c->fn(argc - i, argv + i);
}
