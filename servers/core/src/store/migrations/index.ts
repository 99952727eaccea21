import type { Migration } from 'kysely';
import type { StoreEngine } from '../types.js';
import { initial } from './0001-initial.js';
import { as2 } from './0002-as2.js';
import { jobs } from './0003-jobs.js';
import { as2Partners } from './0004-as2-partners.js';
import { schedules } from './0005-schedules.js';
import { shutdownReports } from './0006-shutdown-reports.js';
import { withIdFor } from './ids.js';

/**
 * One list of migrations for both engines, one file each. Names sort in the order they run; a
 * released migration is never edited, a change is a new entry.
 */
export function migrationsFor(engine: StoreEngine): Record<string, Migration> {
  const withId = withIdFor(engine);
  return {
    '0001_initial': initial(withId),
    '0002_as2': as2(withId),
    '0003_jobs': jobs(withId),
    '0004_as2_partners': as2Partners(withId),
    '0005_schedules': schedules(),
    '0006_shutdown_reports': shutdownReports(withId),
  };
}
