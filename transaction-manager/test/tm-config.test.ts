import { loadConfig, readSection } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { tmSection } from '../src/index.js';

const load = (yaml: string, onWarning: (m: string) => void = () => undefined) => loadConfig({ env: {}, text: yaml, sections: [tmSection], onWarning });

function problems(yaml: string): string {
  try {
    load(yaml);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the config loaded');
}

const site = 'sites: {partner: {protocol: sftp, host: 127.0.0.1, user: u, password: p, hostKey: any}}';

describe('tm config', () => {
  it('loads routes with every action and fills the defaults', () => {
    const config = load(`
tm:
  ${site}
  routes:
    - name: all
      path: /in/*.csv
      actions:
        - rename: '{base}-{date}{ext}'
        - gzip: {}
        - gunzip: {keep: true}
        - zip: {}
        - copy: {path: /archive/}
        - move: {account: other, path: '/{account}/{name}'}
        - push: {site: partner}
        - run: {command: /bin/true, args: ['{name}'], timeout: 5s}
        - webhook: {url: 'https://erp.example/hook'}
        - delete: true
`);
    const tm = readSection(config, tmSection);
    expect(tm.routes[0]).toMatchObject({ name: 'all', account: '*', source: '*', final: false });
    expect(tm.routes[0]!.actions).toHaveLength(10);
    expect(tm).toMatchObject({ workers: 4, gracefulShutdownTimeout: 3_600_000, retry: { maxAttempts: 5, backoff: 5000 } });
  });

  it('refuses a rule that does not parse, naming its key', () => {
    const route = (actions: string, extra = '') => `tm:\n  ${site}\n  routes: [{name: r, ${extra}actions: [${actions}]}]`;
    expect(problems(route(`{rename: '{nmae}.csv'}`))).toMatch(/tm\.routes\[0\]\.actions\[0\]\.rename: unknown placeholder .*allowed: text with placeholders \{name\}/);
    expect(problems(route(`{rename: '../x'}`))).toMatch(/tm\.routes\[0\]\.actions\[0\]\.rename: /);
    expect(problems(route('{push: {site: nowhere}}'))).toMatch(/tm\.routes\[0\]\.actions\[0\]\.push\.site: no site "nowhere" in tm\.sites/);
    expect(problems(route('{teleport: {}}'))).toMatch(/tm\.routes\[0\]\.actions\[0\]\.teleport: unknown key/);
    expect(problems(route('{gzip: {}, zip: {}}'))).toMatch(/tm\.routes\[0\]\.actions\[0\]: an action has exactly one key.*allowed: one of rename, gzip/);
    expect(problems(route(''))).toMatch(/tm\.routes\[0\]\.actions: /);
    expect(problems(route('{webhook: {url: "ftp://x"}}'))).toMatch(/tm\.routes\[0\]\.actions\[0\]\.webhook\.url/);
    expect(problems(`tm:\n  routes: [{name: r, actions: [{delete: true}]}, {name: r, actions: [{delete: true}]}]`)).toMatch(/tm\.routes\[1\]\.name: route name "r" is used twice/);
  });

  it('accepts the SecureTransport alias and warns under 30 s', () => {
    const warnings: string[] = [];
    const config = load('TransactionManager.GracefulShutdownTimeout: 10\ntm: {}', (w) => warnings.push(w));
    expect(readSection(config, tmSection).gracefulShutdownTimeout).toBe(10_000);
    expect(warnings.join('\n')).toMatch(/tm\.gracefulShutdownTimeout is 10s: under 30s/);
  });
});
