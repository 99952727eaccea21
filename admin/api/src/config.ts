import { defineSection, hostAddress, port } from '@ferry/core';
import { z } from 'zod';

/** Where the admin API listens. Loopback by default: exposing it is a deliberate choice. */
export const DEFAULT_ADMIN_PORT = 9090;
export const DEFAULT_ADMIN_HOST = '127.0.0.1';

export const adminSection = defineSection(
  'admin',
  z
    .object({
      port: port().default(DEFAULT_ADMIN_PORT),
      host: hostAddress().default(DEFAULT_ADMIN_HOST),
    })
    .strict(),
);

export type AdminConfig = z.output<typeof adminSection.schema>;
