export { Supervisor, type ComponentPlan, type SupervisorOptions } from './supervisor.js';
export { ComponentProcess, type ComponentTimeouts, type ExitInfo } from './component-process.js';
export { Monitor, DEFAULT_MONITOR, type MonitorOptions } from './monitor.js';
export { startNode, NODE_FILE, type StartOptions } from './start-node.js';
export { nodeSection } from './config.js';
export { SECTIONS } from './sections.js';
export { CATALOG } from './catalog.js';
export { NodeCoordinator, type CoordinatorOptions } from './shutdown-plan.js';
export type { PlanMember, PlanMonitor } from './plan-member.js';
