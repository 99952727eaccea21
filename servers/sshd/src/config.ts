import { defineComponentSection, duration, hostAddress, port, size, type DeepReadonly } from '@ferry/core';
import { z } from 'zod';

/**
 * The largest READ reply and WRITE request Ferry offers by default: what OpenSSH's own sftp-server
 * offers (256 KiB packets less 1 KiB of header room). OpenSSH clients refuse any packet over
 * 256 KiB, so a larger value only helps other clients.
 */
export const DEFAULT_IO_SIZE = 256 * 1024 - 1024;

/** Where host keys live when `hostKeys` is not set: this directory under the data dir. */
export const DEFAULT_HOST_KEYS_DIR = 'ssh-host-keys';

const ioSize = (what: string) =>
  size()
    .refine((bytes) => bytes >= 4096 && bytes <= 1024 * 1024, {
      message: `${what} must be between 4KiB and 1MiB`,
      params: { allowed: 'a size from 4KiB to 1MiB, like 255KiB' },
    })
    .default(DEFAULT_IO_SIZE);

const atLeastOne = { message: 'must be 1 or more', params: { allowed: 'a whole number of 1 or more' } };

/**
 * The `sshd` section of ferry.yaml. `Ssh.GracefulShutdownTimeout` (SecureTransport's name) is
 * accepted as an alias of `gracefulShutdownTimeout`.
 */
export const sshdSection = defineComponentSection(
  'sshd',
  z.object({
    port: port().default(2222),
    host: hostAddress().default('0.0.0.0'),
    /** Directory of the host keys; created with an ed25519 and an RSA key on first start. Default: `<dataDir>/ssh-host-keys`. */
    hostKeys: z.string().min(1).optional(),
    /** Largest READ reply; advertised through limits@openssh.com so clients ask for that much. */
    maxReadSize: ioSize('maxReadSize'),
    /** Largest WRITE request; advertised through limits@openssh.com. */
    maxWriteSize: ioSize('maxWriteSize'),
    /** Files and directories one SFTP session may hold open at once. */
    maxOpenHandles: z.number().int().refine((n) => n >= 1, atLeastOne).default(256),
    /** Time a client gets to authenticate before it is disconnected (OpenSSH's LoginGraceTime). */
    loginTimeout: duration().default(120_000),
    /** Failed authentication attempts on one connection before it is disconnected (OpenSSH's MaxAuthTries). */
    maxAuthTries: z.number().int().refine((n) => n >= 1, atLeastOne).default(6),
    /** Keepalive probes find clients that vanished without closing their connection. */
    keepaliveInterval: duration().default(15_000),
    keepaliveCountMax: z.number().int().refine((n) => n >= 1, atLeastOne).default(3),
  }),
  { gracefulShutdownTimeout: '86400s', aliases: { 'Ssh.GracefulShutdownTimeout': 'gracefulShutdownTimeout' } },
);

export type SshdConfig = DeepReadonly<z.output<typeof sshdSection.schema>>;
