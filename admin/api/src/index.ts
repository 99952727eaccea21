// The public surface of @ferry/admin-api: the node calls buildAdminApi and implements NodeControl.
export { buildAdminApi, DOCS_PREFIX, type AdminApiOptions } from './app.js';
export { adminSection, DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT, type AdminConfig } from './config.js';
export { httpStatusOf, INTERNAL_ERROR_CODE, type ErrorBody } from './errors.js';
export type { JobRules } from './routes/jobs.js';
export type { ScheduleView } from './routes/schedules.js';
export type { ComponentView, NodeControl, NodeShutdownRequest, NodeSuspendRequest, NodeView, StopRequest } from './control.js';
