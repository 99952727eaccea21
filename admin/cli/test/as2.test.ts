import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/test/support/harness.js';
import { partnerSettings } from '../src/commands/as2.js';
import { asRunningNode, cli } from './support/cli.js';

const exec = promisify(execFile);

let api: RunningApi;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-cli-as2-'));
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'acme.key'), '-out', join(dir, 'acme.crt'), '-days', '30', '-subj', '/CN=ACME/O=Ferry test']);
});
afterAll(() => rm(dir, { recursive: true, force: true }));
beforeEach(async () => {
  api = await startApi();
  env = await asRunningNode(api);
});
afterEach(() => api.close());

describe('ferry as2 partners', () => {
  it('adds a partner (relative paths from the cwd), lists it, shows it, replaces it and removes it', async () => {
    const added = await cli(['as2', 'partners', 'add', 'ACME', '--cert', 'acme.crt', '--inbox', 'in/acme', '--url', 'https://as2.acme.example/'], { env, cwd: dir });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`AS2 partner ACME added: certificate CN=ACME`);
    expect(await api.store.as2Partners.get('ACME')).toMatchObject({ inbox: join(dir, 'in', 'acme'), url: 'https://as2.acme.example/' });

    const list = await cli(['as2', 'partners', 'list'], { env });
    expect(list.stdout).toMatch(/^ID\s+CERTIFICATE UNTIL\s+URL\s+INBOX\nACME\s+\d{4}-/);
    const json = await cli(['as2', 'partners', 'list', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject([{ id: 'ACME' }]);

    const show = await cli(['as2', 'partners', 'show', 'ACME'], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/requires\s+signature, encryption/);
    expect(show.stdout).toMatch(/sends\s+aes256-cbc\/rsa-pkcs1, signed sha-256, compression none, MDN sync \(signed\)/);

    await new Promise((r) => setTimeout(r, 5));
    const replaced = await cli(
      ['as2', 'partners', 'add', 'ACME', '--cert', join(dir, 'acme.crt'), '--inbox', '/srv/acme', '--set', 'requireEncryption=false', '--set', 'send.mdn=async', '--set', 'accept.signature=sha-256,sha-512'],
      { env },
    );
    expect(replaced.stdout).toContain('AS2 partner ACME replaced');
    expect(await api.store.as2Partners.get('ACME')).toMatchObject({ inbox: '/srv/acme', url: null, requireEncryption: false, send: { mdn: 'async' }, accept: { signature: ['sha-256', 'sha-512'] } });

    const removed = await cli(['as2', 'partners', 'remove', 'ACME'], { env });
    expect(removed).toMatchObject({ code: 0, stdout: 'AS2 partner ACME removed (its inbox and history are kept)\n' });
    expect((await cli(['as2', 'partners', 'list'], { env })).stdout).toContain('no AS2 partners in the store');
  });

  it('reports what the node refuses, and command-line mistakes as usage errors', async () => {
    const badValue = await cli(['as2', 'partners', 'add', 'ACME', '--cert', 'acme.crt', '--inbox', '/srv/acme', '--set', 'send.encryption=rc2'], { env, cwd: dir });
    expect(badValue.code).toBe(1);
    expect(badValue.stderr).toContain('FERRY_ERR_BAD_REQUEST');

    const notACert = await cli(['as2', 'partners', 'add', 'ACME', '--cert', 'acme.key', '--inbox', '/srv/acme'], { env, cwd: dir });
    expect(notACert.code).toBe(1);
    expect(notACert.stderr).toMatch(/certificate must be an X\.509 certificate in PEM.*FERRY_ERR_BAD_REQUEST/);

    const missing = await cli(['as2', 'partners', 'show', 'NOBODY'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('FERRY_ERR_NOT_FOUND');

    expect((await cli(['as2', 'partners', 'add', 'ACME', '--inbox', '/srv/acme'], { env })).stderr).toContain('needs --cert FILE and --inbox DIR');
    expect((await cli(['as2', 'partners', 'add', 'ACME', '--cert', 'nope.crt', '--inbox', '/x'], { env, cwd: dir })).stderr).toContain('--cert: cannot read');
    expect((await cli(['as2', 'partners', 'list', '--cert', 'x'], { env })).code).toBe(2);
    expect(await api.store.as2Partners.list()).toEqual([]);
  });

  it('turns --set settings into the API body', () => {
    expect(partnerSettings(['requireSignature=false', 'send.signedMdn=true', 'send.compression=before-signing', 'accept.encryption=aes128-gcm, aes256-gcm'])).toEqual({
      requireSignature: false,
      send: { signedMdn: true, compression: 'before-signing' },
      accept: { encryption: ['aes128-gcm', 'aes256-gcm'] },
    });
    expect(() => partnerSettings(['colour=blue'])).toThrow(/unknown setting "colour"; known: requireSignature/);
    expect(() => partnerSettings(['requireSignature=maybe'])).toThrow('true or false');
    expect(() => partnerSettings(['send.mdn'])).toThrow('needs a value');
  });
});
