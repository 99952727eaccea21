/** The help text; every command and option the CLI knows, with the SecureTransport form. */
export const USAGE = `usage: ferry <command> [options]

Components:
  status [--json]                      every component: state, pid, transfers, restarts
  stop <id> [-g] [-timeout N]          stop a component; -g drains first (waits for transfers,
                                       at most N seconds, default: its gracefulShutdownTimeout)
  start <id>                           start a stopped or failed component
  suspend <id> [-timeout N]            drain and hold (new work refused) until resume or stop
  resume <id>                          end a suspension, or cancel a graceful stop

Node (the ordered plan: intake, then every protocol daemon in parallel, then tm):
  node shutdown [-g [-timeout N]]      stop the node; -g runs the plan, each step after the one
                                       before (N: every component's drain timeout); without -g:
                                       everything now. A second call shortens or escalates it
  node suspend [-timeout N]            suspend every component in the plan's order
  node resume                          resume them in reverse order (tm, protocol, intake)
  node report [ID] [--json]            a stored shutdown report (default: the latest)

Transfers:
  transfers [--json]                   active transfers on the node
  history [--json]                     the last 100 finished transfers

Jobs (the transaction manager's queue):
  jobs [--json]                        the last 100 jobs, with the count per status
  jobs show <id>                       one job: payload, attempts, last error, result
  jobs retry <id>                      put a failed job back in the queue
  schedules [--json]                   the scheduler's schedules: next and last fire

Accounts:
  accounts list [--json]
  accounts add <name> --password-stdin [--home DIR] [--ssh-key FILE]
  accounts passwd <name> --password-stdin
  accounts remove <name>

AS2 partners (in the store; as2d uses a change from the next message on):
  as2 partners list [--json]
  as2 partners show <id> [--json]
  as2 partners add <id> --cert FILE --inbox DIR [--url URL] [--set KEY=VALUE]...
                                       create, or replace all settings of, a partner
  as2 partners remove <id>

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
  --cert FILE                          the AS2 partner's certificate (PEM)
  --inbox DIR                          where the partner's payloads land
  --url URL                            the partner's AS2 URL (for sending to it)
  --set KEY=VALUE                      a partner setting, repeatable: requireSignature,
                                       requireEncryption (true|false), accept.encryption,
                                       accept.signature (comma lists), send.encryption,
                                       send.keyTransport, send.signature, send.compression,
                                       send.mdn, send.signedMdn
  -h, --help                           this text

Exit codes: 0 done, 1 failed, 2 bad command line, 3 node not reachable.
`;
