import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as2dSection, DEFAULT_MAX_MESSAGE_SIZE } from '../src/index.js';
import { makePki, startAs2d, type Pki } from './helpers.js';

let pki: Pki;

beforeAll(async () => {
  pki = await makePki();
});

afterAll(async () => {
  await rm(pki.dir, { recursive: true, force: true });
});

describe('as2d config', () => {
  it('has defaults for everything: port 4080, 86400 s graceful timeout, no partners', () => {
    const config = as2dSection.schema.parse({});
    expect(config).toMatchObject({ port: 4080, host: '0.0.0.0', as2Id: 'FERRY', gracefulShutdownTimeout: 86_400_000, maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE, partners: [] });
  });

  it('loads from ferry.yaml with the As2.GracefulShutdownTimeout alias and partner defaults', () => {
    const config = loadConfig({
      sections: [as2dSection],
      env: {},
      text: ['As2.GracefulShutdownTimeout: 3600', 'as2d:', '  port: 4081', '  maxMessageSize: 512MB', '  partners:', '    - {id: ACME, certificate: /etc/acme.crt, inbox: /srv/acme, send: {encryption: aes128-gcm}}'].join('\n'),
    }) as unknown as { as2d: ReturnType<typeof as2dSection.schema.parse> };
    expect(config.as2d.gracefulShutdownTimeout).toBe(3_600_000);
    expect(config.as2d.maxMessageSize).toBe(512 * 2 ** 20);
    expect(config.as2d.partners[0]).toMatchObject({ id: 'ACME', requireSignature: true, requireEncryption: true, send: { encryption: 'aes128-gcm', mdn: 'sync', signedMdn: true } });
  });

  it('refuses duplicate partner ids and unknown algorithms, naming the key', () => {
    const partner = { id: 'ACME', certificate: '/x', inbox: '/y' };
    expect(() => loadConfig({ sections: [as2dSection], env: {}, text: `as2d: {partners: [${JSON.stringify(partner)}, ${JSON.stringify(partner)}]}` })).toThrow(/as2d\.partners.*unique/s);
    expect(() =>
      loadConfig({ sections: [as2dSection], env: {}, text: `as2d: {partners: [${JSON.stringify({ ...partner, accept: { encryption: ['rc2'] } })}]}` }),
    ).toThrow(/as2d\.partners\[0\]\.accept\.encryption\[0\]: got "rc2"/);
  });

  it('fails the start on a missing certificate or a key of another certificate, naming the key', async () => {
    await expect(startAs2d({ pki, partner: { certificate: join(pki.dir, 'missing.crt') } })).rejects.toMatchObject({
      code: 'FERRY_ERR_CONFIG_INVALID',
      details: { key: 'as2d.partners[0].certificate' },
    });
    await expect(startAs2d({ pki, section: { privateKey: pki.mallory.keyFile } })).rejects.toMatchObject({ code: 'FERRY_ERR_CONFIG_INVALID', details: { key: 'as2d.privateKey' } });
    const notPem = join(pki.dir, 'not.pem');
    await writeFile(notPem, 'hello');
    await expect(startAs2d({ pki, section: { certificate: notPem } })).rejects.toMatchObject({ details: { key: 'as2d.certificate' } });
    await expect(startAs2d({ pki, section: { privateKey: undefined } })).rejects.toThrow('certificate and privateKey go together');
  });
});
