// The public surface of @ferry/cli: the node package's `ferry` and `stop_<id>`/`start_<id>` bins call runCli.
export { runCli } from './run.js';
export { EXIT, type CliIo, type ExitCode } from './io.js';
export { locateNode, NODE_FILE, TOKEN_FILE, type NodeFile, type NodeLocation } from './locate.js';
