// Sections shaped like the daemons' own config.ts, for the loader tests.
import { z } from 'zod';
import { defineComponentSection, defineSection, hostAddress, port, portRange, size } from '../src/config/index.js';

export const httpd = defineComponentSection(
  'httpd',
  z.object({
    host: hostAddress().default('0.0.0.0'),
    port: port().default(8080),
    uploadChunkSize: size().prefault('100MB'),
  }),
  {
    gracefulShutdownTimeout: '30s',
    aliases: { 'Http.GracefulShutdownTimeout': 'gracefulShutdownTimeout', uploadChunkSize: 'uploadChunkSize' },
  },
);

export const ftpd = defineComponentSection(
  'ftpd',
  z.object({ port: port().default(2121), passivePorts: portRange().prefault('30000-30100') }),
  { gracefulShutdownTimeout: 86_400 },
);

export const tm = defineComponentSection('tm', z.object({ workers: z.number().int().min(1).default(4), paused: z.boolean().default(false) }), {
  gracefulShutdownTimeout: '1h',
  warnings: (value) =>
    value.gracefulShutdownTimeout < 30_000 ? ['tm.gracefulShutdownTimeout is under 30s: running jobs may be cut rather than finished'] : [],
});

export const admin = defineSection('admin', z.object({ port: port().default(9090), origins: z.array(z.string()).default([]) }));

export const SECTIONS = [httpd, ftpd, tm, admin] as const;
