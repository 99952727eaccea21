import { defineComponentSection, hostAddress, port, size, type DeepReadonly } from '@ferry/core';
import { z } from 'zod';

/** SecureTransport's default chunk of the ST Web Client (seed 002): 100 MB, binary multiples. */
export const DEFAULT_UPLOAD_CHUNK_SIZE = 100 * 2 ** 20;

const positive = { message: 'must be larger than 0', params: { allowed: 'a size above zero, like 100MB' } };

/**
 * The `httpd` section of ferry.yaml. `Http.GracefulShutdownTimeout` (a root alias in core) and
 * `uploadChunkSize` (SecureTransport's top-level name) are accepted as aliases.
 */
export const httpdSection = defineComponentSection(
  'httpd',
  z.object({
    port: port().default(8080),
    host: hostAddress().default('0.0.0.0'),
    /** Largest body one tus PATCH may carry; a longer one is cut at the limit and answered 413. */
    uploadChunkSize: size()
      .refine((bytes) => bytes > 0, positive)
      .default(DEFAULT_UPLOAD_CHUNK_SIZE),
    /** Largest file a PUT or a tus upload may declare (announced as Tus-Max-Size); none when unset. */
    maxUploadSize: size()
      .refine((bytes) => bytes > 0, positive)
      .optional(),
    /** PEM files; HTTPS when set. */
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  }),
  { gracefulShutdownTimeout: '30s', aliases: { uploadChunkSize: 'uploadChunkSize' } },
);

export type HttpdConfig = DeepReadonly<z.output<typeof httpdSection.schema>>;
