import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { enabledComponents, loadConfig, readSection, type ConfigIssue } from '../src/config/index.js';
import { type FerryError, isFerryError } from '../src/errors.js';
import { SECTIONS, ftpd, httpd, tm } from './config-fixtures.js';

const load = (text: string | undefined, env: NodeJS.ProcessEnv = {}) =>
  loadConfig({ ...(text === undefined ? {} : { text, file: 'ferry.yaml' }), env, sections: SECTIONS, onWarning: () => undefined });

function failure(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (err) {
    if (isFerryError(err)) return err;
    throw err;
  }
  throw new Error('expected a FerryError');
}

const issuesOf = (err: FerryError) => err.details['issues'] as ConfigIssue[];

describe('defaults', () => {
  it('with no config file, every component is enabled with its defaults', () => {
    const config = load(undefined);
    expect(config.dataDir).toBe('./data');
    expect(config.store.url).toBe('sqlite:./data/ferry.db');
    expect(config.gracefulShutdown.loggingInterval).toBe(60_000);
    expect(config.log.level).toBe('info');
    expect(config.httpd).toEqual({
      enabled: true,
      gracefulShutdownTimeout: 30_000,
      ackTimeout: 10_000,
      host: '0.0.0.0',
      port: 8080,
      uploadChunkSize: 100 * 2 ** 20,
    });
    expect(config.ftpd.gracefulShutdownTimeout).toBe(86_400_000);
    expect(config.ftpd.passivePorts).toEqual({ from: 30_000, to: 30_100 });
    expect(config.admin.port).toBe(9090);
    expect(enabledComponents(config, SECTIONS)).toEqual(['httpd', 'ftpd', 'tm']);
  });

  it('with a file, only the components whose sections it has run', () => {
    const config = load('httpd:\n  port: 0\nftpd:\ntm:\n  enabled: false\n');
    expect(config.httpd.port).toBe(0);
    expect(config.ftpd.port).toBe(2121); // `ftpd:` with nothing under it: present, defaults
    expect(enabledComponents(config, SECTIONS)).toEqual(['httpd', 'ftpd']);
    expect(config.tm.enabled).toBe(false);
  });

  it('an empty file runs no component, but still has every section', () => {
    const config = load('');
    expect(enabledComponents(config, SECTIONS)).toEqual([]);
    expect(config.tm.gracefulShutdownTimeout).toBe(3_600_000);
  });

  it('store.url follows dataDir unless set', () => {
    expect(load('dataDir: /srv/ferry/\n').store.url).toBe('sqlite:/srv/ferry/ferry.db');
    expect(load('store: {url: "postgres://ferry@db/ferry"}\n').store.url).toBe('postgres://ferry@db/ferry');
  });

  it('reads a file from disk', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ferry-config-')), 'ferry.yaml');
    writeFileSync(file, 'httpd: {port: 8081, gracefulShutdownTimeout: 2m}\n');
    const config = loadConfig({ file, env: {}, sections: SECTIONS });
    expect(config.httpd.gracefulShutdownTimeout).toBe(120_000);
    expect(enabledComponents(config, SECTIONS)).toEqual(['httpd']);
  });

  it('types each section from its definition', () => {
    const config = load(undefined);
    expectTypeOf(config.httpd.port).toEqualTypeOf<number>();
    expectTypeOf(config.ftpd.passivePorts).toEqualTypeOf<{ readonly from: number; readonly to: number }>();
    expectTypeOf(readSection(config, tm).workers).toEqualTypeOf<number>();
    expect(readSection(config, httpd).port).toBe(8080);
  });
});

describe('validation errors', () => {
  it('an unknown key names the full path, suggests the likely key and lists the allowed ones', () => {
    const err = failure(() => load('httpd:\n  gracefulShutdownTimout: 30s\n'));
    expect(err.code).toBe('FERRY_ERR_CONFIG_INVALID');
    expect(err.message).toBe(
      'invalid configuration in ferry.yaml (1 problem):\n' +
        '  - httpd.gracefulShutdownTimout: unknown key (did you mean gracefulShutdownTimeout?), got "30s"; ' +
        'allowed: the keys in httpd: host, port, uploadChunkSize, enabled, gracefulShutdownTimeout, ackTimeout',
    );
    expect(err.details).toMatchObject({ file: 'ferry.yaml', key: 'httpd.gracefulShutdownTimout', value: '30s' });
  });

  it('an unknown top-level key lists root keys, sections and aliases', () => {
    const err = failure(() => load('Ftp.GracefulShutdownTimeout: 60\n'));
    expect(err.message).toContain('Ftp.GracefulShutdownTimeout: unknown key (did you mean Ftpd.GracefulShutdownTimeout?)');
    expect(err.message).toContain('allowed: the keys at the top level: dataDir, store, gracefulShutdown, log, httpd, ftpd, tm, admin, or the aliases ');
  });

  it('a wrong enum value names the allowed values', () => {
    const err = failure(() => load('log: {level: verbose}\n'));
    expect(err.message).toContain('log.level: got "verbose"; allowed: one of: trace, debug, info, warn, error');
    expect(err.details).toMatchObject({ key: 'log.level', value: 'verbose', allowed: 'one of: trace, debug, info, warn, error' });
  });

  it('a bad duration names key, value and the accepted forms', () => {
    const err = failure(() => load('httpd: {gracefulShutdownTimeout: 30 sec}\n'));
    expect(err.message).toContain(
      'httpd.gracefulShutdownTimeout: not a duration, got "30 sec"; allowed: a duration like 30s, 5m, 24h, 2d, 1h30m or 500ms, or a number of seconds',
    );
  });

  it('collects every problem into one error', () => {
    const err = failure(() =>
      load(['log: {level: loud}', 'httpd: {port: 70000, enabled: "no"}', 'ftpd: {passivePorts: 30100-30000}', 'tm: {workers: 0, bogus: 1}'].join('\n')),
    );
    const issues = issuesOf(err);
    expect(issues.map((issue) => issue.key).sort()).toEqual(['ftpd.passivePorts', 'httpd.enabled', 'httpd.port', 'log.level', 'tm.bogus', 'tm.workers']);
    expect(err.message).toContain('(6 problems)');
    expect(err.message).toContain('httpd.port: not a port, got 70000; allowed: a port number from 0 to 65535 (0 picks any free port)');
    expect(err.message).toContain('httpd.enabled: got "no"; allowed: true or false');
    expect(err.message).toContain('tm.workers: got 0; allowed: a number at least 1');
    expect(err.message).toContain('ftpd.passivePorts: not a port range, got "30100-30000"');
  });

  it('a section that is not a mapping is reported as such', () => {
    const err = failure(() => load('httpd: 8080\n'));
    expect(err.message).toContain('httpd: got 8080; allowed: a mapping (key: value lines)');
  });

  it('never echoes a password in a store URL', () => {
    const err = failure(() => load('store: {url: "mysql://ferry:s3cret@db/ferry"}\n'));
    expect(err.message).toContain('store.url: not a store URL, got "mysql://ferry:***@db/ferry"');
    expect(JSON.stringify(err.details)).not.toContain('s3cret');
  });
});

describe('aliases', () => {
  it('maps SecureTransport names onto their keys, and counts as the section being present', () => {
    const config = load(
      [
        'Ftpd.GracefulShutdownTimeout: 3600',
        'Http.GracefulShutdownTimeout: 45s',
        'TransactionManager.GracefulShutdownTimeout: 120',
        'GracefulShutdown.Logging.Interval: 30s',
        'uploadChunkSize: 50 MB',
      ].join('\n'),
    );
    expect(config.ftpd.gracefulShutdownTimeout).toBe(3_600_000);
    expect(config.httpd.gracefulShutdownTimeout).toBe(45_000);
    expect(config.httpd.uploadChunkSize).toBe(50 * 2 ** 20);
    expect(config.tm.gracefulShutdownTimeout).toBe(120_000);
    expect(config.gracefulShutdown.loggingInterval).toBe(30_000);
    expect(enabledComponents(config, SECTIONS)).toEqual(['httpd', 'ftpd', 'tm']);
  });

  it('an alias and its key with different values is an error naming both', () => {
    const err = failure(() => load('Ftpd.GracefulShutdownTimeout: 3600\nftpd: {gracefulShutdownTimeout: 60}\n'));
    expect(issuesOf(err)).toHaveLength(1);
    expect(err.message).toContain(
      'ftpd.gracefulShutdownTimeout: set twice with different values, as ftpd.gracefulShutdownTimeout and as Ftpd.GracefulShutdownTimeout, ' +
        'got {"ftpd.gracefulShutdownTimeout":60,"Ftpd.GracefulShutdownTimeout":3600}',
    );
  });

  it('the same value written two ways is not a conflict', () => {
    const config = load('Ftpd.GracefulShutdownTimeout: 3600\nftpd: {gracefulShutdownTimeout: 1h}\n');
    expect(config.ftpd.gracefulShutdownTimeout).toBe(3_600_000);
  });

  it('a bad value through an alias says which name it was written as', () => {
    const err = failure(() => load('Http.GracefulShutdownTimeout: soon\n'));
    expect(err.message).toContain('httpd.gracefulShutdownTimeout (as Http.GracefulShutdownTimeout): not a duration, got "soon"');
  });

  it('an alias of a component this node does not load is an unknown key', () => {
    const err = failure(() => load('Pesit.GracefulShutdownTimeout: 60\n'));
    expect(issuesOf(err)[0]).toMatchObject({
      key: 'Pesit.GracefulShutdownTimeout',
      problem: 'unknown key (the alias of pesitd.gracefulShutdownTimeout, and this node has no pesitd component)',
    });
  });
});

describe('environment overrides', () => {
  it('override the file, with values coerced to what the schema wants', () => {
    const config = load('httpd: {port: 8080}\ntm: {workers: 2}\n', {
      FERRY_HTTPD__PORT: '8081',
      FERRY_GRACEFUL_SHUTDOWN__LOGGING_INTERVAL: '5s',
      FERRY_DATA_DIR: '/srv/ferry',
      FERRY_TM__WORKERS: '8',
      FERRY_TM__PAUSED: 'true',
      FERRY_ADMIN__ORIGINS: '["https://admin.example.com"]',
      FERRY_HTTPD__ACK_TIMEOUT: '',
      FERRY_CONFIG: '/etc/ferry/ferry.yaml',
      FERRY_SOMETHING_ELSE: 'x',
    });
    expect(config.httpd.port).toBe(8081);
    expect(config.httpd.ackTimeout).toBe(10_000);
    expect(config.gracefulShutdown.loggingInterval).toBe(5_000);
    expect(config.dataDir).toBe('/srv/ferry');
    expect(config.store.url).toBe('sqlite:/srv/ferry/ferry.db');
    expect(config.tm.workers).toBe(8);
    expect(config.tm.paused).toBe(true);
    expect(config.admin.origins).toEqual(['https://admin.example.com']);
  });

  it('set the store URL', () => {
    expect(load(undefined, { FERRY_STORE__URL: 'postgres://ferry@db/ferry' }).store.url).toBe('postgres://ferry@db/ferry');
  });

  it('do not enable a component, except through its ENABLED variable', () => {
    const config = load('httpd: {}\n', { FERRY_FTPD__PORT: '2122', FERRY_TM__ENABLED: 'true', FERRY_HTTPD__ENABLED: 'false' });
    expect(config.ftpd.port).toBe(2122);
    expect(enabledComponents(config, SECTIONS)).toEqual(['tm']);
  });

  it('a bad value names the variable it came from', () => {
    const err = failure(() => load(undefined, { FERRY_HTTPD__PORT: 'http', FERRY_TM__PAUSED: 'maybe' }));
    expect(err.message).toContain('httpd.port (from env FERRY_HTTPD__PORT): not a port, got "http"');
    expect(err.message).toContain('tm.paused (from env FERRY_TM__PAUSED): got "maybe"; allowed: true or false');
  });
});

describe('the result', () => {
  it('is deep-frozen: mutation throws', () => {
    const config = load('admin: {origins: [a]}\n');
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { dataDir: string }).dataDir = '/tmp';
    }).toThrow(TypeError);
    expect(() => {
      (config.httpd as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (config.admin.origins as string[]).push('b')).toThrow(TypeError);
  });

  it('reports sections\' warnings for enabled components', () => {
    const warnings: string[] = [];
    loadConfig({ text: 'tm: {gracefulShutdownTimeout: 10s}\n', env: {}, sections: SECTIONS, onWarning: (message) => warnings.push(message) });
    expect(warnings).toEqual(['tm.gracefulShutdownTimeout is under 30s: running jobs may be cut rather than finished']);
    warnings.length = 0;
    loadConfig({ text: 'tm: {gracefulShutdownTimeout: 10s, enabled: false}\n', env: {}, sections: SECTIONS, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
  });

  it('readSection refuses a section the config was loaded without', () => {
    const config = loadConfig({ env: {}, sections: [httpd] });
    expect(() => readSection(config, ftpd)).toThrow(/no config section "ftpd"/);
  });
});

describe('file errors', () => {
  it('a YAML syntax error is FERRY_ERR_CONFIG_FILE naming line and column', () => {
    const err = failure(() => load('httpd:\n  port: 8080\nftpd: [2121\nlog: {level: info}\n'));
    expect(err.code).toBe('FERRY_ERR_CONFIG_FILE');
    expect(err.message).toMatch(/^ferry\.yaml: .* at line 4, column 1/);
    expect(err.details).toMatchObject({ file: 'ferry.yaml', line: 4, column: 1 });
  });

  it('a duplicate key is a YAML error too', () => {
    const err = failure(() => load('httpd: {}\nhttpd: {}\n'));
    expect(err.code).toBe('FERRY_ERR_CONFIG_FILE');
    expect(err.details).toMatchObject({ line: 2, reason: 'DUPLICATE_KEY' });
  });

  it('the top level must be a mapping', () => {
    expect(failure(() => load('- httpd\n')).message).toBe('ferry.yaml: the top level must be a mapping of keys (key: value lines)');
  });

  it('an unreadable file names the file and the reason', () => {
    const err = failure(() => loadConfig({ file: '/nonexistent/ferry.yaml', env: {}, sections: SECTIONS }));
    expect(err.code).toBe('FERRY_ERR_CONFIG_FILE');
    expect(err.message).toBe('/nonexistent/ferry.yaml: cannot read the config file (ENOENT)');
  });
});
