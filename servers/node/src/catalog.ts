import type { AnySection, ComponentFactory } from '@ferry/core';
import { createFtpd, ftpdSection } from '@ferry/ftpd';
import { as2dSection, createAs2d } from '@ferry/as2d';
import { createHttpd, httpdSection } from '@ferry/httpd';
import { createSshd, sshdSection } from '@ferry/sshd';

/**
 * The daemons this node can run, by component id. The only place that knows several daemons
 * (DESIGN §6); a new daemon is one line here.
 */
export interface CatalogEntry {
  section: AnySection;
  create: ComponentFactory;
}

export const CATALOG: Readonly<Record<string, CatalogEntry>> = {
  httpd: { section: httpdSection, create: createHttpd as ComponentFactory },
  as2d: { section: as2dSection, create: createAs2d as ComponentFactory },
  sshd: { section: sshdSection, create: createSshd as ComponentFactory },
  ftpd: { section: ftpdSection, create: createFtpd as ComponentFactory },
};
