import { defineSection, isFerryError, loadConfig } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { siteSchema } from '../src/outbound/index.js';

// The sites as the tm's section will hold them: a map under tm.sites (a stand-in section here).
const section = defineSection('sitetest', z.object({ sites: z.record(z.string(), siteSchema).default({}) }));

function load(yaml: string) {
  return loadConfig({ text: yaml, env: {}, sections: [section] });
}

function problems(yaml: string): string {
  try {
    load(yaml);
  } catch (err) {
    if (isFerryError(err, 'FERRY_ERR_CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('the config loaded');
}

describe('site config', () => {
  it('fills ports and defaults by protocol', () => {
    const config = load(`
sitetest:
  sites:
    a: {protocol: sftp, host: sftp.partner.example, user: u, password: p, hostKey: "SHA256:${'A'.repeat(43)}"}
    b: {protocol: ftps-implicit, host: ftp.partner.example, user: u, password: 1234, timeout: 5s}
    c: {protocol: https, url: "https://partner.example:8443/files"}
    d: {protocol: http, host: 10.0.0.7}
`) as unknown as { sitetest: { sites: Record<string, Record<string, unknown>> } };
    const sites = config.sitetest.sites;
    expect(sites['a']).toMatchObject({ port: 22, path: '/', timeout: 30_000, tls: { rejectUnauthorized: true } });
    expect(sites['b']).toMatchObject({ port: 990, password: '1234', timeout: 5000 });
    expect(sites['c']).toMatchObject({ port: 8443 });
    expect(sites['d']).toMatchObject({ port: 80 });
  });

  it('names the key, what was given and what is allowed', () => {
    const message = problems(`
sitetest:
  sites:
    acme: {protocol: sftp, host: "bad host!", user: u, password: s3cret, hostKey: "MD5:aa:bb", port: 70000, timeout: soon}
    other: {protocol: gopher, host: x}
    web: {protocol: http, url: "http://u:pw@x.example/", hostKey: any}
    typo: {protocol: ftp, host: x, user: u, password: p, pasword: q}
`);
    expect(message).toContain('sitetest.sites.acme.host: not a host address, got "bad host!"');
    expect(message).toContain('sitetest.sites.acme.port: not a port, got 70000');
    expect(message).toContain('sitetest.sites.acme.timeout: not a duration');
    expect(message).toMatch(/sitetest\.sites\.acme\.hostKey: not a host key fingerprint, got "MD5:aa:bb"; allowed: the server host key fingerprint as OpenSSH prints it/);
    expect(message).toMatch(/sitetest\.sites\.other\.protocol: got "gopher"; allowed: one of: sftp, ftp, ftps, ftps-implicit, http, https, as2/);
    expect(message).toContain('sitetest.sites.typo.pasword: unknown key (did you mean password?)');
    expect(message).not.toContain('s3cret');
  });

  it('refuses keys a protocol does not use and missing keys it needs', () => {
    const message = problems(`
sitetest:
  sites:
    web: {protocol: http, host: x.example, hostKey: any, user: u}
    box: {protocol: sftp, host: x.example, user: u, hostKey: any}
    as2: {protocol: as2, partner: P, as2From: US, sign: sha-256}
`);
    expect(message).toContain('sitetest.sites.web.hostKey: not used by protocol http');
    expect(message).toContain('sitetest.sites.web.password: missing, got nothing; allowed: both user and password, or neither');
    expect(message).toContain('sitetest.sites.box.password: missing, got nothing; allowed: password: <secret>, or privateKey: <key file>');
    expect(message).toContain('sitetest.sites.as2.url: missing, got nothing; allowed: the partner AS2 URL');
    expect(message).toContain('sitetest.sites.as2.sign: signing needs our certificate and privateKey');
  });
});
