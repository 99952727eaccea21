import { defineComponentSection, duration, hostAddress, port, size, type DeepReadonly } from '@ferry/core';
import { z } from 'zod';
import { DIGEST_NAMES, ENCRYPTION_NAMES, KEY_TRANSPORT_NAMES } from './as2/algorithms.js';

/** Largest HTTP body (and decompressed payload) accepted by default. */
export const DEFAULT_MAX_MESSAGE_SIZE = 2 * 2 ** 30;

// RFC 4130 §6.2: 1 to 128 printable ASCII characters (quoted on the wire when they include spaces).
const AS2_ID = /^[\x20-\x7e]{1,128}$/;
const as2Id = () => z.string().refine((id) => AS2_ID.test(id), { message: 'not an AS2 id', params: { allowed: '1 to 128 printable ASCII characters' } });
const file = () => z.string().refine((path) => path.trim() !== '', { message: 'empty', params: { allowed: 'a file path' } });

/** How we send to a partner (the sender library reads it; receiving accepts whatever `accept` allows). */
const sendSchema = z
  .object({
    encryption: z.enum(ENCRYPTION_NAMES).default('aes256-cbc'),
    keyTransport: z.enum(KEY_TRANSPORT_NAMES).default('rsa-pkcs1'),
    signature: z.enum(DIGEST_NAMES).default('sha-256'),
    compression: z.enum(['none', 'before-signing', 'after-signing']).default('none'),
    /** What MDN we ask for. */
    mdn: z.enum(['sync', 'async', 'none']).default('sync'),
    signedMdn: z.boolean().default(true),
  })
  .prefault({});

const partnerSchema = z.object({
  /** Their AS2 id: the AS2-From of their messages. */
  id: as2Id(),
  /** Their certificate (PEM): verifies their signatures and MDNs; we encrypt to it. */
  certificate: file(),
  /** The directory their payloads are stored in (created if missing). */
  inbox: file(),
  /** Their AS2 URL, where the sender library posts our messages. */
  url: z.string().url().optional(),
  /** Refuse (negative MDN, insufficient-message-security) what is not signed / not encrypted. */
  requireSignature: z.boolean().default(true),
  requireEncryption: z.boolean().default(true),
  /** Algorithms we accept from them. */
  accept: z
    .object({
      encryption: z.array(z.enum(ENCRYPTION_NAMES)).min(1).default([...ENCRYPTION_NAMES]),
      signature: z.array(z.enum(DIGEST_NAMES)).min(1).default([...DIGEST_NAMES]),
    })
    .prefault({}),
  send: sendSchema,
});

const uniqueIds = {
  message: 'partner ids must be unique',
  params: { allowed: 'one entry per partner AS2 id' },
};

/**
 * The `as2d` section of ferry.yaml. Our AS2 id, certificate and key; the trading partners; limits.
 * `As2.GracefulShutdownTimeout` is a root alias in core. Partners may be configured here (read at
 * start) or kept in the store through the admin API (read per message, no restart); a store partner
 * with the same id takes precedence (partners.ts).
 */
export const as2dSection = defineComponentSection(
  'as2d',
  z.object({
    port: port().default(4080),
    host: hostAddress().default('0.0.0.0'),
    /** PEM files; HTTPS when set. */
    tls: z.object({ cert: file(), key: file() }).optional(),
    /** Our AS2 id: the AS2-To partners address us by. */
    as2Id: as2Id().default('FERRY'),
    /** Our certificate and private key (PEM): partners encrypt to it, our MDNs are signed with it. */
    certificate: file().optional(),
    privateKey: file().optional(),
    /** Largest message body, and largest payload once decompressed; larger is 413. */
    maxMessageSize: size()
      .refine((bytes) => bytes > 0, { message: 'must be larger than 0', params: { allowed: 'a size above zero, like 2GiB' } })
      .default(DEFAULT_MAX_MESSAGE_SIZE),
    /** Our URL for asynchronous MDNs, given to partners by the sender library (Receipt-Delivery-Option). */
    asyncMdnUrl: z.string().url().optional(),
    asyncMdn: z
      .object({
        /** First retry after a failed delivery; doubles per attempt, at most 1 h. */
        retryInterval: duration().default(60_000),
        /** An MDN not delivered after this long is given up (logged). */
        expireAfter: duration().default(7 * 86_400_000),
      })
      .prefault({}),
    /** Before the payload's name is known (the first KiB), a message must make progress within this. */
    headerTimeout: duration().default(60_000),
    partners: z
      .array(partnerSchema)
      .default([])
      .refine((partners) => new Set(partners.map((p) => p.id)).size === partners.length, uniqueIds),
  }),
  { gracefulShutdownTimeout: '86400s' },
);

export type As2dConfig = DeepReadonly<z.output<typeof as2dSection.schema>>;
export type PartnerConfig = As2dConfig['partners'][number];
