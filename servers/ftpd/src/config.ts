import { isIPv4 } from 'node:net';
import { defineComponentSection, duration, hostAddress, port, portRange, type DeepReadonly } from '@ferry/core';
import { z } from 'zod';

const ipv4 = z.string().refine((value) => isIPv4(value), {
  message: 'not an IPv4 address',
  params: { allowed: 'an IPv4 address like 203.0.113.7 (a PASV reply can only carry IPv4)' },
});

const positive = (example: string) => ({ message: 'must be longer than 0', params: { allowed: `a duration above zero, like ${example}` } });

/**
 * The `ftpd` section of ferry.yaml. `Ftpd.GracefulShutdownTimeout` (SecureTransport's name) is a
 * root alias in core. TLS keys are checked together: implicit FTPS and `requireTls` need a
 * certificate.
 */
export const ftpdSection = defineComponentSection(
  'ftpd',
  z
    .object({
      port: port().default(2121),
      host: hostAddress().default('0.0.0.0'),
      /** PEM files; enables AUTH TLS on the main port (explicit FTPS). */
      tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
      /** Implicit FTPS: a second listener where TLS starts before the greeting. */
      implicitTls: z.object({ port: port().default(990) }).optional(),
      /** Logins only over TLS, and data only with PROT P. */
      requireTls: z.boolean().default(false),
      /** Where PASV/EPSV listen for data connections. */
      passivePorts: portRange().default({ from: 30000, to: 30100 }),
      /** The address PASV announces (a NAT's public IPv4); default: the address the client reached. */
      publicAddress: ipv4.optional(),
      /** PORT/EPRT (the server connects to the client); off by default, and never to a third party. */
      activeMode: z.boolean().default(false),
      /** How long a data command waits for the client to open its data connection. */
      dataConnectTimeout: duration().refine((ms) => ms > 0, positive('30s')).default(30_000),
      /** A data connection that moves no byte for this long is cut (a client that stalled). */
      dataTimeout: duration().refine((ms) => ms > 0, positive('5m')).default(300_000),
      /** A control connection with no command for this long is closed (421), never during a transfer. */
      idleTimeout: duration().refine((ms) => ms > 0, positive('10m')).default(600_000),
    })
    .superRefine((value, ctx) => {
      const needsTls = (key: string, what: string): void => {
        if (value.tls) return;
        ctx.addIssue({ code: 'custom', path: [key], message: `${what} needs tls.cert and tls.key`, params: { allowed: 'tls: {cert: <pem file>, key: <pem file>} alongside it' } });
      };
      if (value.implicitTls) needsTls('implicitTls', 'implicit FTPS');
      if (value.requireTls) needsTls('requireTls', 'requireTls: true');
    }),
  { gracefulShutdownTimeout: '86400s' },
);

export type FtpdConfig = DeepReadonly<z.output<typeof ftpdSection.schema>>;
