import { resolve } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger, Store } from '@ferry/core';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { installAuth } from './auth.js';
import type { NodeControl } from './control.js';
import { installErrorHandling } from './errors.js';
import { accountRoutes } from './routes/accounts.js';
import { activityRoutes } from './routes/activity.js';
import { as2PartnerRoutes } from './routes/as2-partners.js';
import { componentRoutes } from './routes/components.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes, type JobRules } from './routes/jobs.js';
import { scheduleRoutes, type ScheduleView } from './routes/schedules.js';
import { nodeRoutes } from './routes/node.js';
import { addSharedSchemas } from './schemas.js';

export interface AdminApiOptions {
  control: NodeControl;
  store: Store;
  log: Logger;
  /** The node's data directory (absolute). */
  dataDir: string;
  /** Where a new account's home goes when none is given: `<accountHomeRoot>/<name>`; relative to dataDir. */
  accountHomeRoot: string;
  /** The job kinds and payload check of the node's transaction manager. */
  jobRules: JobRules;
  /** The scheduler's schedules with their next fire (none when the node runs no scheduler). */
  schedules: () => readonly ScheduleView[];
}

export const DOCS_PREFIX = '/docs';

const isDocsPath = (url: string): boolean => url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`);

/**
 * The admin REST API of a node, built but not listening (the supervisor calls `listen`). Nothing
 * here waits on a drain: commands return once the supervisor has passed them on, so the API stays
 * usable while components drain, and the CLI follows progress with GET.
 */
export async function buildAdminApi(options: AdminApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Typed as fastify's narrower logger so that routes and plugins see the default instance type.
    loggerInstance: options.log.child({ module: 'admin-api' }) as FastifyBaseLogger,
    // The CLI polls once a second during a drain; per-request lines would bury the drain log.
    // Commands and account changes log their own audit line instead.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      customOptions: {
        // A misspelt field ("timout") is refused rather than silently dropped.
        removeAdditional: false,
      },
    },
  });

  addSharedSchemas(app);
  installErrorHandling(app);
  installAuth(app, options.store.adminTokens, isDocsPath);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Ferry admin API',
        version: options.control.node().version,
        description:
          'Control of one Ferry node: components (start, graceful stop, suspend, resume), active transfers, history, lifecycle events and transfer accounts. ' +
          'Every /api/v1 call needs Authorization: Bearer <token> (the node writes one to <dataDir>/admin.token).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An admin token (fry_…)' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'node' },
        { name: 'components', description: 'Lifecycle of the daemons, tm, folder monitor and scheduler' },
        { name: 'transfers' },
        { name: 'events' },
        { name: 'accounts', description: 'Transfer accounts (not admin users)' },
        { name: 'jobs', description: "The transaction manager's queue" },
        { name: 'probes', description: 'For load balancers; no token' },
      ],
    },
    refResolver: {
      // Name shared schemas by their $id in components.schemas rather than def-0, def-1…
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });

  healthRoutes(app, options.control);
  componentRoutes(app, options.control);
  nodeRoutes(app, options.control, options.store);
  activityRoutes(app, options.control, options.store);
  accountRoutes(app, options.store, resolve(options.dataDir, options.accountHomeRoot));
  as2PartnerRoutes(app, options.store);
  jobRoutes(app, options.store, options.jobRules);
  scheduleRoutes(app, options.store, options.schedules);

  await app.ready();
  return app;
}
