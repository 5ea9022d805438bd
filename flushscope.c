/*
 * flushscope: the command dispatcher.
 *   flushscope [global options] <command> [options] [args]
 * The command table is cmd/commands.h; each command is cmd/<name>.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/err.h"

struct fs_cmd {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
};

static const struct fs_cmd commands[] = {
#define CMD(name, fn, summary) { #name, fn, summary },
#include "cmd/commands.h"
#undef CMD
	{ NULL, NULL, NULL }
};

/* Prints the top-level usage and the command list. */
static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: flushscope [-q] [--version] [--help] <command> [options] [args]\n\n"
	    "commands:\n");
	for (i = 0; commands[i].name != NULL; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-10s %s\n", "help", "show help for a command (flushscope help <command>)");
	fprintf(f, "\nSee flushscope(1) and flushscope-<command>(1).\n");
}

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

/* `flushscope help [command]`: the command's own --help. */
static int
cmd_help(int argc, char **argv)
{
	const struct fs_cmd *c;
	char *hargv[3];

	if (argc < 2) {
		usage(stdout);
		return FS_EXIT_OK;
	}
	if ((c = find_cmd(argv[1])) == NULL) {
		fs_warn(NULL, "no such command '%s'", argv[1]);
		usage(stderr);
		return FS_EXIT_USAGE;
	}
	hargv[0] = argv[1];
	hargv[1] = "--help";
	hargv[2] = NULL;
	return c->fn(2, hargv);
}

int
main(int argc, char **argv)
{
	const struct fs_cmd *c;
	int i;

	fs_global.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("flushscope %s\n", FS_VERSION);
			return FS_EXIT_OK;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return FS_EXIT_OK;
		} else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
			fs_global.quiet = 1;
		} else {
			fs_warn(NULL, "unknown option '%s'", argv[i]);
			usage(stderr);
			return FS_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return FS_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0)
		return cmd_help(argc - i, argv + i);
	if ((c = find_cmd(argv[i])) == NULL) {
		fs_warn(NULL, "'%s' is not a command; see 'flushscope --help'", argv[i]);
		return FS_EXIT_USAGE;
	}
	return c->fn(argc - i, argv + i);
}
