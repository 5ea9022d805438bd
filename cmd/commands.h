/*
 * The command table, as an X-macro: CMD(name, function, spec).
 * Each command lives in cmd/<name>.c and defines
 *     int cmd_<name>(int argc, char **argv);
 *     const struct fs_cmdspec fs_spec_<name>;	(its options: cmd/opt.h)
 * returning an FS_EXIT_* status.  Add one line here per command.
 */
CMD(ingest, cmd_ingest, fs_spec_ingest)
CMD(spins, cmd_spins, fs_spec_spins)
CMD(top, cmd_top, fs_spec_top)
CMD(synth, cmd_synth, fs_spec_synth)
CMD(extract, cmd_extract, fs_spec_extract)
CMD(replay, cmd_replay, fs_spec_replay)
CMD(verify, cmd_verify, fs_spec_verify)
CMD(tune, cmd_tune, fs_spec_tune)
