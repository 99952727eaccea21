import { isFerryError, loadConfig } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IO_SIZE, sshdSection } from '../src/index.js';

describe('sshd config section', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ sections: [sshdSection], env: {} });
    expect(config.sshd).toMatchObject({
      enabled: true,
      port: 2222,
      host: '0.0.0.0',
      gracefulShutdownTimeout: 86_400_000,
      maxReadSize: DEFAULT_IO_SIZE,
      maxWriteSize: DEFAULT_IO_SIZE,
      maxOpenHandles: 256,
      loginTimeout: 120_000,
      maxAuthTries: 6,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
    });
    expect(config.sshd.hostKeys).toBeUndefined();
  });

  it('accepts the SecureTransport name Ssh.GracefulShutdownTimeout', () => {
    const config = loadConfig({ sections: [sshdSection], env: {}, text: 'Ssh.GracefulShutdownTimeout: 120\n' });
    expect(config.sshd.enabled).toBe(true);
    expect(config.sshd.gracefulShutdownTimeout).toBe(120_000);
  });

  it('names the key of a bad value and what is allowed', () => {
    try {
      loadConfig({ sections: [sshdSection], env: {}, text: 'sshd: {maxReadSize: 2MiB}\n' });
      expect.unreachable();
    } catch (err) {
      expect(isFerryError(err, 'FERRY_ERR_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain('sshd.maxReadSize');
      expect((err as Error).message).toContain('4KiB to 1MiB');
    }
  });
});
