import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../src/args.js';
import { cli } from './support/cli.js';

describe('parseArgs', () => {
  it('reads the SecureTransport spelling', () => {
    const args = parseArgs(['stop_httpd', '-g', '-timeout', '60']);
    expect(args).toMatchObject({ positionals: ['stop_httpd'], graceful: true, timeout: 60 });
    expect([...args.given]).toEqual(['graceful', 'timeout']);
  });

  it('reads the GNU spelling, in any order', () => {
    expect(parseArgs(['stop', '--timeout', '90', 'ftpd', '--graceful'])).toMatchObject({ positionals: ['stop', 'ftpd'], graceful: true, timeout: 90 });
    expect(parseArgs(['stop', 'ftpd', '--timeout=90', '-g'])).toMatchObject({ graceful: true, timeout: 90 });
    expect(parseArgs(['-timeout=15', 'suspend', 'tm']).timeout).toBe(15);
  });

  it('takes durations as well as seconds for -timeout', () => {
    expect(parseArgs(['-timeout', '5m']).timeout).toBe(300);
    expect(parseArgs(['--timeout', '1h30m']).timeout).toBe(5400);
    expect(parseArgs(['--timeout', '0.5']).timeout).toBe(0.5);
  });

  it('reads the other options', () => {
    expect(parseArgs(['-c', 'etc/ferry.yaml', 'status', '--json'])).toMatchObject({ config: 'etc/ferry.yaml', json: true, positionals: ['status'] });
    expect(parseArgs(['--config=/x.yaml']).config).toBe('/x.yaml');
    expect(parseArgs(['accounts', 'add', 'bob', '--password-stdin', '--home', 'h/bob', '--ssh-key=k.pub'])).toMatchObject({
      positionals: ['accounts', 'add', 'bob'],
      passwordStdin: true,
      home: 'h/bob',
      sshKey: 'k.pub',
    });
    expect(parseArgs(['--', '-g']).positionals).toEqual(['-g']);
  });

  it('refuses unknown options, missing values and bad timeouts with a clear message', () => {
    expect(() => parseArgs(['stop', 'httpd', '-f'])).toThrow(new UsageError('unknown option "-f"'));
    expect(() => parseArgs(['stop', 'httpd', '--timeout'])).toThrow('--timeout needs a value');
    expect(() => parseArgs(['stop', 'httpd', '-timeout', 'soon'])).toThrow('-timeout needs a number of seconds');
    expect(() => parseArgs(['--json=yes'])).toThrow('--json takes no value');
    expect(() => parseArgs(['-timeout', '1', '-timeout', '2'])).toThrow('given twice');
  });
});

describe('command line errors exit 2 with the usage', () => {
  it.each([
    [['stop', 'httpd', '--force'], 'unknown option "--force"'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['accounts', 'rename', 'x'], 'unknown command "accounts rename"'],
    [['stop'], 'stop needs <id>'],
    [['stop', 'httpd', 'now'], 'unexpected "now"'],
    [['status', '-g'], '--graceful does not apply to status'],
    [['stop', 'httpd', '-timeout', '60'], '-timeout applies to a graceful stop: add -g'],
    [['stop_httpd', '-timeout', '60'], '-timeout applies to a graceful stop: add -g'],
    [[], 'no command given'],
  ])('%j', async (argv, message) => {
    const run = await cli(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: ferry <command>');
    expect(run.stdout).toBe('');
  });

  it('prints the usage on --help and exits 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('stop_<id> [-g] [-timeout N]');
  });
});
