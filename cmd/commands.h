/*
 * The command table, as an X-macro: CMD(name, function, one-line summary).
 * Each command lives in cmd/<name>.c and defines
 *     int cmd_<name>(int argc, char **argv);
 * returning an FS_EXIT_* status.  Add one line here per command.
 */
CMD(ingest, cmd_ingest, "parse logs into a SQLite database (resumable) and find spins")
CMD(spins, cmd_spins, "find, size and explain flush-thread spins (episodes, per-thread waste)")
CMD(top, cmd_top, "watch a live client log like top: spinning bmaps, rates, outstanding RPCs")
CMD(synth, cmd_synth, "run the flush engine on a synthetic workload and write its log")
CMD(extract, cmd_extract, "write the workload (engine inputs) recovered from a log or database")
CMD(replay, cmd_replay, "replay a recorded workload through libflush under several policies")
CMD(verify, cmd_verify, "CI gate: candidate policy vs baseline on traces; JUnit output")
