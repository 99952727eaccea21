import { defineSection, duration } from '@ferry/core';
import { z } from 'zod';

const COMPONENT_ID = /^[a-z][a-z0-9-]*$/;

/**
 * The supervisor's own keys. `customComponents` runs extra components (yours, or a test fixture)
 * under the same supervisor: each module must call `runComponentProcess` from @ferry/core.
 */
export const nodeSection = defineSection(
  'node',
  z.object({
    killTimeout: duration().default(10_000),
    restartDelay: duration().default(1000),
    restartDelayMax: duration().default(30_000),
    customComponents: z
      .record(
        z.string().refine((id) => COMPONENT_ID.test(id), { message: 'not a component id', params: { allowed: 'lower-case letters, digits and hyphens' } }),
        z.object({
          module: z.string().min(1),
          /** Where the node plan puts it (DESIGN §3); a fixture of each kind lets tests run the plan. */
          kind: z.enum(['protocol', 'intake', 'tm']).default('protocol'),
          /** Command-line arguments of the module. */
          args: z.array(z.string()).default([]),
          gracefulShutdownTimeout: duration().default(30_000),
          ackTimeout: duration().default(10_000),
        }),
      )
      .default({}),
  }),
);
