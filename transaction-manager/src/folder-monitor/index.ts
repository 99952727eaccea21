// The folder monitor component: folders whose stable files become transaction-manager jobs.
export { createFolderMonitor, FolderMonitor } from './folder-monitor.js';
export { folderMonitorSection, type FolderConfig, type FolderMonitorConfig } from './config.js';
export { fileKey } from './folder.js';
