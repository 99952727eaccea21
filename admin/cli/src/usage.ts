/** The help text; every command and option the CLI knows, with the SecureTransport form. */
export const USAGE = `usage: ferry <command> [options]

Components:
  status [--json]                      every component: state, pid, transfers, restarts
  stop <id> [-g] [-timeout N]          stop a component; -g drains first (waits for transfers,
                                       at most N seconds, default: its gracefulShutdownTimeout)
  start <id>                           start a stopped or failed component
  suspend <id> [-timeout N]            drain and hold (new work refused) until resume or stop
  resume <id>                          end a suspension, or cancel a graceful stop

Transfers:
  transfers [--json]                   active transfers on the node
  history [--json]                     the last 100 finished transfers

Accounts:
  accounts list [--json]
  accounts add <name> --password-stdin [--home DIR] [--ssh-key FILE]
  accounts passwd <name> --password-stdin
  accounts remove <name>

SecureTransport console form:
  stop_<id> [-g] [-timeout N]          e.g. stop_httpd -g -timeout 60
  start_<id>                           e.g. start_ftpd

Options:
  -g, --graceful                       graceful stop (drain first)
  -timeout N, --timeout N|--timeout=N  drain timeout in seconds (or 90s, 5m, 1h)
  -c FILE, --config FILE               ferry.yaml of the node (default: $FERRY_CONFIG, ./ferry.yaml)
  --json                               machine-readable output
  --password-stdin                     read the password from the first line of stdin
  --home DIR                           account home folder (default: <dataDir>/homes/<name>)
  --ssh-key FILE                       add the OpenSSH public key(s) in FILE
  -h, --help                           this text

Exit codes: 0 done, 1 failed, 2 bad command line, 3 node not reachable.
`;
