/*
 * The command table, as an X-macro: CMD(name, function, one-line summary).
 * Each command lives in cmd/<name>.c and defines
 *     int cmd_<name>(int argc, char **argv);
 * returning an FS_EXIT_* status.  Add one line here per command.
 */
CMD(ingest, cmd_ingest, "parse logs into a SQLite database (resumable) and find spins")
