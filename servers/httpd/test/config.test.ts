import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFerryError, loadConfig } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpdSection } from '../src/index.js';
import { curl, PASSWORD, randomFile, sha256, sha256File, startHttpd, USER, type Harness } from './helpers.js';

describe('httpd config section', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ sections: [httpdSection], env: {} });
    expect(config.httpd).toMatchObject({
      enabled: true,
      port: 8080,
      host: '0.0.0.0',
      gracefulShutdownTimeout: 30_000,
      uploadChunkSize: 100 * 1024 * 1024,
    });
    expect(config.httpd.tls).toBeUndefined();
    expect(config.httpd.maxUploadSize).toBeUndefined();
  });

  it('accepts the SecureTransport names Http.GracefulShutdownTimeout and uploadChunkSize', () => {
    const config = loadConfig({ sections: [httpdSection], env: {}, text: 'Http.GracefulShutdownTimeout: 120\nuploadChunkSize: 10MB\n' });
    expect(config.httpd.enabled).toBe(true);
    expect(config.httpd.gracefulShutdownTimeout).toBe(120_000);
    expect(config.httpd.uploadChunkSize).toBe(10 * 1024 * 1024);
  });

  it('names the key of a bad value', () => {
    try {
      loadConfig({ sections: [httpdSection], env: {}, text: 'httpd: {uploadChunkSize: 0}\n' });
      expect.unreachable();
    } catch (err) {
      expect(isFerryError(err, 'FERRY_ERR_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain('httpd.uploadChunkSize');
    }
  });
});

describe('https', () => {
  let h: Harness;
  let base: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'ferry-httpd-tls-'));
    const cert = join(base, 'cert.pem');
    const key = join(base, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    h = await startHttpd({ tls: { cert, key } });
  });

  afterAll(async () => {
    await h.close();
    await rm(base, { recursive: true, force: true });
  });

  it('reports an https listener and serves uploads and downloads over TLS', async () => {
    expect(h.runtime.listening[0]?.name).toBe('https');
    const url = `https://127.0.0.1:${h.port}/files/secure.bin`;
    const src = await randomFile(h.dir, 'secure-src.bin', 3 * 1024 * 1024 + 7);
    const up = await curl(['-k', '-u', `${USER}:${PASSWORD}`, '-T', src.path, url], { status: true });
    expect(up.status).toBe(201);
    const out = join(h.dir, 'secure-out.bin');
    const down = await curl(['-k', '-u', `${USER}:${PASSWORD}`, '-o', out, url], { status: true });
    expect(down.status).toBe(200);
    expect(await sha256File(out)).toBe(sha256(src.data));
  });

  it('drains over TLS too', async () => {
    await h.runtime.suspend();
    const res = await curl(['-k', '-u', `${USER}:${PASSWORD}`, '-D', '-', `https://127.0.0.1:${h.port}/files/`], { status: true });
    expect(res.status).toBe(503);
    expect(res.stdout.toLowerCase()).toContain('retry-after:');
    h.runtime.resume();
  });
});
