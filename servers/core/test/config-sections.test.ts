import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineComponentSection, defineSection, duration, envName, loadConfig } from '../src/config/index.js';
import { httpd } from './config-fixtures.js';

describe('defineSection / defineComponentSection', () => {
  it('adds the common keys to a component section', () => {
    expect(Object.keys(httpd.schema.shape)).toEqual(['host', 'port', 'uploadChunkSize', 'enabled', 'gracefulShutdownTimeout', 'ackTimeout']);
    expect(httpd.kind).toBe('component');
    expect(Object.isFrozen(httpd)).toBe(true);
  });

  it('refuses a key without a default: with no ferry.yaml every section must still load', () => {
    expect(() => defineSection('edge', z.object({ backend: z.string() }))).toThrow(
      'config section "edge" is defined wrongly: every key needs a default, these have none: backend',
    );
  });

  it('refuses an alias that points at no key', () => {
    expect(() => defineSection('admin', z.object({ port: z.number().default(1) }), { 'Admin.Port': 'prot' })).toThrow(
      'alias Admin.Port points at admin.prot, which is not a key',
    );
  });

  it('refuses a section that defines a common key itself', () => {
    expect(() => defineComponentSection('sshd', z.object({ ackTimeout: duration().default(1) }), { gracefulShutdownTimeout: 1 })).toThrow(
      'ackTimeout is a common key, added by core',
    );
  });

  it('refuses a bad id, a bad default timeout, duplicate sections and aliases that clash', () => {
    expect(() => defineSection('Admin', z.object({}))).toThrow(/lower-case/);
    expect(() => defineComponentSection('sshd', z.object({}), { gracefulShutdownTimeout: 'a day' })).toThrow(/invalid duration/);
    expect(() => loadConfig({ env: {}, sections: [httpd, httpd] })).toThrow('config section "httpd" is given twice or clashes with a root key');
    expect(() => loadConfig({ env: {}, sections: [defineSection('log', z.object({}))] })).toThrow(/clashes with a root key/);
    const other = defineSection('other', z.object({ size: z.number().default(1) }), { uploadChunkSize: 'size' });
    expect(() => loadConfig({ env: {}, sections: [httpd, other] })).toThrow(
      'config aliases conflict: alias uploadChunkSize points at both httpd.uploadChunkSize and other.size',
    );
  });
});

describe('envName', () => {
  it.each([
    [['httpd', 'port'], 'FERRY_HTTPD__PORT'],
    [['gracefulShutdown', 'loggingInterval'], 'FERRY_GRACEFUL_SHUTDOWN__LOGGING_INTERVAL'],
    [['dataDir'], 'FERRY_DATA_DIR'],
    [['store', 'url'], 'FERRY_STORE__URL'],
    [['folder-monitor', 'enabled'], 'FERRY_FOLDER_MONITOR__ENABLED'],
    [['as2d', 'gracefulShutdownTimeout'], 'FERRY_AS2D__GRACEFUL_SHUTDOWN_TIMEOUT'],
  ])('%j → %s', (path, name) => {
    expect(envName(path)).toBe(name);
  });
});

describe('section schemas of other shapes', () => {
  it('a strict section reports an unknown key once, a loose one accepts any', () => {
    const strict = defineSection('strict', z.strictObject({ a: z.number().default(1) }));
    const loose = defineSection('loose', z.looseObject({ a: z.number().default(1) }));
    let message = '';
    try {
      loadConfig({ text: 'strict: {b: 1}\nloose: {b: 2}\n', env: {}, sections: [strict, loose] });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('invalid configuration in the config text (1 problem):\n  - strict.b: unknown key, got 1; allowed: the keys in strict: a');
    expect(loadConfig({ text: 'loose: {b: 2}\n', env: {}, sections: [strict, loose] }).loose).toEqual({ a: 1, b: 2 });
  });

  it('nested objects and lists of objects are checked for unknown keys too', () => {
    const accounts = defineSection(
      'accounts',
      z.object({ limits: z.object({ rate: z.number().default(0) }).prefault({}), users: z.array(z.object({ name: z.string() })).default([]) }),
    );
    expect(() => loadConfig({ text: 'accounts: {limits: {rte: 5}, users: [{name: a, nmae: b}]}\n', env: {}, sections: [accounts] })).toThrow(
      /accounts\.limits\.rte: unknown key \(did you mean rate\?\)[\s\S]*accounts\.users\[0\]\.nmae: unknown key \(did you mean name\?\), got "b"; allowed: the keys in accounts\.users\[0\]: name/,
    );
  });
});
