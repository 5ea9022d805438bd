/*
 * flushscope help [COMMAND]: the command list, or one command's help
 * (the same text as `flushscope COMMAND --help`, from its option table).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/err.h"

struct help_args {
	int man;
};

static const struct fs_opt help_opts[] = {
	FS_OPT_FLAG(0, "man", struct help_args, man,
	    "print COMMAND's option list as roff, as its man page holds it"),
	FS_OPT_END
};

const struct fs_cmdspec fs_spec_help = {
	.name = "help",
	.usage = { "[COMMAND]" },
	.min_ops = 0, .max_ops = 1,
	.summary = "Shows the commands, or the help of one command.",
	.opts = help_opts,
};

/* Prints the command list. */
static void
list_commands(FILE *f)
{
	static const struct fs_cmdspec *const specs[] = {
#define CMD(n, fn, spec) &spec,
#include "cmd/commands.h"
#undef CMD
		&fs_spec_help, NULL
	};
	int i;

	fprintf(f, "usage: flushscope [-q] [--version] [--help] COMMAND [options] [args]\n\n"
	    "commands:\n");
	for (i = 0; specs[i] != NULL; i++) {
		const char *nl = strchr(specs[i]->summary, '\n');
		int n = nl ? (int)(nl - specs[i]->summary) : (int)strlen(specs[i]->summary);

		fprintf(f, "  %-8s %.*s%s\n", specs[i]->name, n, specs[i]->summary, nl ? " ..." : "");
	}
	fprintf(f, "\nOptions go anywhere after COMMAND; '--' ends them.  Durations need a unit "
	    "(50ms, 200us, 1.5s).\nSee flushscope(1), and flushscope help COMMAND.\n");
}

/* flushscope help. */
int
cmd_help(int argc, char **argv)
{
	struct help_args a;
	struct fs_args fa;
	const struct fs_cmdspec *c;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = fs_opt_parse(&fs_spec_help, &a, argc, argv, &fa)) != 0)
		return rc == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
	if (fa.nops == 0) {
		if (a.man)
			return fs_usage(&fs_spec_help, "--man needs a COMMAND");
		list_commands(stdout);
		return FS_EXIT_OK;
	}
	if ((c = fs_cmd_spec(fa.ops[0])) == NULL)
		return fs_usage(&fs_spec_help, "no such command '%s'", fa.ops[0]);
	if (a.man)
		fs_opt_man(c, stdout);
	else
		fs_opt_help(c, stdout);
	return FS_EXIT_OK;
}

/* Prints the command list. */
void
fs_help_list(FILE *f)
{
	list_commands(f);
}
