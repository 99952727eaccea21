import type { AnySection, ComponentFactory, ComponentKind } from '@ferry/core';
import { createFtpd, ftpdSection } from '@ferry/ftpd';
import { as2dSection, createAs2d } from '@ferry/as2d';
import { createHttpd, httpdSection } from '@ferry/httpd';
import { createSshd, sshdSection } from '@ferry/sshd';
import { createFolderMonitor, createScheduler, createTm, folderMonitorSection, schedulerSection, tmSection } from '@ferry/transaction-manager';

/**
 * The components this node can run, by component id: the protocol daemons and the transaction
 * manager's three. The only place that knows several daemons (DESIGN §6); a new one is one line here.
 */
export interface CatalogEntry {
  /** Where the node plan (DESIGN §3) puts it: intake first, then every protocol daemon, then tm. */
  kind: ComponentKind;
  section: AnySection;
  create: ComponentFactory;
}

export const CATALOG: Readonly<Record<string, CatalogEntry>> = {
  httpd: { kind: 'protocol', section: httpdSection, create: createHttpd as ComponentFactory },
  as2d: { kind: 'protocol', section: as2dSection, create: createAs2d as ComponentFactory },
  sshd: { kind: 'protocol', section: sshdSection, create: createSshd as ComponentFactory },
  ftpd: { kind: 'protocol', section: ftpdSection, create: createFtpd as ComponentFactory },
  'folder-monitor': { kind: 'intake', section: folderMonitorSection, create: createFolderMonitor as ComponentFactory },
  scheduler: { kind: 'intake', section: schedulerSection, create: createScheduler as ComponentFactory },
  tm: { kind: 'tm', section: tmSection, create: createTm as ComponentFactory },
};
