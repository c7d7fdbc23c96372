// The `switchboard` command. The broker service lands with its own issue; until then the command exists
// so that the README's start line has something to run.
process.stderr.write('switchboard: broker not implemented yet\n');
process.exitCode = 1;
