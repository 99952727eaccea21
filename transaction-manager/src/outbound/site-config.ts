import { DIGEST_NAMES, ENCRYPTION_NAMES, KEY_TRANSPORT_NAMES } from '@ferry/as2d';
import { duration, hostAddress, port, type DeepReadonly } from '@ferry/core';
import { z } from 'zod';

/**
 * One partner site (`tm.sites.<name>` in ferry.yaml): where a push or pull job goes. One flat
 * object for every protocol, so that the loader's unknown-key check lists the keys a site may
 * have; which keys a protocol needs or refuses is checked in `superRefine`, naming the key and
 * what is allowed. Files (keys, certificates, CA) are paths, read when a client connects.
 */

export const SITE_PROTOCOLS = ['sftp', 'ftp', 'ftps', 'ftps-implicit', 'http', 'https', 'as2'] as const;
export type SiteProtocol = (typeof SITE_PROTOCOLS)[number];

/** The port a protocol uses when the site names none. */
export const DEFAULT_PORTS: Readonly<Record<SiteProtocol, number>> = {
  sftp: 22,
  ftp: 21,
  ftps: 21,
  'ftps-implicit': 990,
  http: 80,
  https: 443,
  as2: 443,
};

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const FINGERPRINT_FORMS = 'the server host key fingerprint as OpenSSH prints it (ssh-keygen -lf: SHA256: and 43 base64 characters), or any to accept every host key';

const hostKey = z.string().refine((value) => value === 'any' || FINGERPRINT.test(value), {
  message: 'not a host key fingerprint',
  params: { allowed: FINGERPRINT_FORMS },
});

const httpUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  },
  { message: 'not an http(s) URL without credentials', params: { allowed: 'an http:// or https:// URL without user:password@ (use the user and password keys), like https://partner.example/files/' } },
);

const remoteDirectory = z.string().refine((value) => value.startsWith('/') && !value.split('/').includes('..') && !value.includes('\0'), {
  message: 'not an absolute remote directory',
  params: { allowed: 'an absolute path on the partner without .. segments, like / or /inbound' },
});

/**
 * A password is never echoed in a config error, so it accepts what YAML may make of one (a number)
 * rather than failing on it.
 */
const secret = z.union([z.string().min(1), z.number()]).transform((value) => String(value));

const file = z.string().min(1);

const siteObject = z.object({
  protocol: z.enum(SITE_PROTOCOLS),
  /** Partner host; for http(s) and as2, `url` may be given instead. */
  host: hostAddress().optional(),
  /** Default: 22 sftp, 21 ftp/ftps, 990 ftps-implicit, 80 http, 443 https. */
  port: port().optional(),
  /** http(s): the base URL the site's `path` and the remote paths are appended to; as2: the partner's AS2 URL. */
  url: httpUrl.optional(),
  user: z.string().min(1).optional(),
  password: secret.optional(),
  /** sftp: our SSH private key file (OpenSSH or PEM); as2: our PEM private key (signing, decrypting MDNs). */
  privateKey: file.optional(),
  /** Passphrase of `privateKey`, when it has one. */
  passphrase: secret.optional(),
  /** sftp: the server's host key fingerprint (`SHA256:…`), or `any` (not recommended). Required for sftp. */
  hostKey: hostKey.optional(),
  /** Remote base directory: remote paths of jobs are relative to it. */
  path: remoteDirectory.default('/'),
  /** ftps, ftps-implicit, https, as2 over https. */
  tls: z
    .object({
      /** PEM file of the CA (or the self-signed certificate) to trust instead of the system's. */
      ca: file.optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .prefault({}),
  /** Connect timeout, and how long a connection may stay silent before it is given up. */
  timeout: duration()
    .refine((ms) => ms > 0, { message: 'must be longer than 0', params: { allowed: 'a duration above zero, like 30s' } })
    .default(30_000),
  /**
   * http(s): how a push is made atomic. `direct`: PUT to the final name (the server commits only a
   * complete body, as Ferry's httpd does); `move`: PUT to a temporary name, then WebDAV MOVE.
   */
  upload: z.enum(['direct', 'move']).optional(),
  /** as2: the partner's AS2 id. */
  partner: z.string().min(1).optional(),
  /** as2: our AS2 id. */
  as2From: z.string().min(1).optional(),
  /** as2: our certificate (PEM), sent with signatures. */
  certificate: file.optional(),
  /** as2: the partner's certificate (PEM): we encrypt to it and verify its signed MDNs with it. */
  partnerCertificate: file.optional(),
  /** as2: signing digest, or false. Default: sha-256 when certificate and privateKey are set. */
  sign: z.union([z.enum(DIGEST_NAMES), z.literal(false)]).optional(),
  /** as2: content encryption, or false. Default: aes256-cbc when partnerCertificate is set. */
  encrypt: z.union([z.enum(ENCRYPTION_NAMES), z.literal(false)]).optional(),
  keyTransport: z.enum(KEY_TRANSPORT_NAMES).optional(),
  compress: z.union([z.enum(['before-signing', 'after-signing']), z.literal(false)]).optional(),
  /** as2: `sync` (the MDN is the HTTP answer; a negative one fails the push), `async` (posted later to `asyncMdnUrl`), `none`. */
  mdn: z.enum(['sync', 'async', 'none']).optional(),
  /** as2: ask for a signed MDN. Default: true when partnerCertificate is set (needed to verify it). */
  mdnSigned: z.boolean().optional(),
  /** as2, mdn async: our as2d's MDN URL, e.g. https://ferry.example:4080/mdn. */
  asyncMdnUrl: httpUrl.optional(),
  /** as2: the payload's Content-Type; default application/octet-stream. */
  contentType: z.string().min(1).optional(),
  subject: z.string().min(1).optional(),
});

type SiteInput = z.output<typeof siteObject>;
type SiteKey = keyof SiteInput;

const FTP_FAMILY: readonly SiteProtocol[] = ['ftp', 'ftps', 'ftps-implicit'];
const HTTP_FAMILY: readonly SiteProtocol[] = ['http', 'https'];
const TLS_USERS: readonly SiteProtocol[] = ['ftps', 'ftps-implicit', 'https', 'as2'];
const AS2_ONLY: readonly SiteKey[] = ['partner', 'as2From', 'certificate', 'partnerCertificate', 'sign', 'encrypt', 'keyTransport', 'compress', 'mdn', 'mdnSigned', 'asyncMdnUrl', 'contentType', 'subject'];

/** Keys a protocol has no use for: given anyway, they are refused rather than silently ignored. */
function unusedKeys(protocol: SiteProtocol): SiteKey[] {
  const unused: SiteKey[] = [];
  if (protocol !== 'as2') unused.push(...AS2_ONLY);
  if (protocol !== 'sftp') unused.push('hostKey');
  if (protocol !== 'sftp' && protocol !== 'as2') unused.push('privateKey', 'passphrase');
  if (!HTTP_FAMILY.includes(protocol)) unused.push('upload');
  if (!HTTP_FAMILY.includes(protocol) && protocol !== 'as2') unused.push('url');
  if (protocol === 'as2') unused.push('host', 'port', 'user', 'password');
  return unused;
}

/**
 * The schema of one site. The output has `port` filled from the protocol, and for as2 the
 * sign/encrypt/MDN choices resolved.
 */
export const siteSchema = siteObject
  .superRefine((site, ctx) => {
    const issue = (key: SiteKey, message: string, allowed: string): void => {
      ctx.addIssue({ code: 'custom', path: [key], message, params: { allowed } });
    };
    const protocol = site.protocol;
    for (const key of unusedKeys(protocol)) {
      if (site[key] !== undefined) issue(key, `not used by protocol ${protocol}`, `no ${key} key for protocol ${protocol} (remove it)`);
    }
    if (site.tls.ca !== undefined && !TLS_USERS.includes(protocol)) {
      issue('tls', `protocol ${protocol} does not use TLS`, `no tls.ca for protocol ${protocol}; use ftps, ftps-implicit, https or as2`);
    }
    if (protocol === 'sftp' || FTP_FAMILY.includes(protocol)) {
      if (site.host === undefined) issue('host', `protocol ${protocol} needs a host`, 'the partner host name or IP address');
      if (site.user === undefined) issue('user', `protocol ${protocol} needs a user`, 'the account name on the partner site');
    }
    if (protocol === 'sftp') {
      if (site.password === undefined && site.privateKey === undefined) issue('password', 'sftp needs a password or a privateKey', 'password: <secret>, or privateKey: <key file>');
      if (site.hostKey === undefined) issue('hostKey', 'sftp needs the server host key (unknown host keys are refused)', FINGERPRINT_FORMS);
    }
    if (FTP_FAMILY.includes(protocol) && site.password === undefined) issue('password', `protocol ${protocol} needs a password`, 'the password of the account on the partner site');
    if (HTTP_FAMILY.includes(protocol)) {
      if (site.url === undefined && site.host === undefined) issue('host', `protocol ${protocol} needs a url or a host`, 'url: https://partner.example/files/, or host (and port)');
      if (site.url !== undefined && (site.host !== undefined || site.port !== undefined)) issue('url', 'url and host/port are both given', 'either url, or host and port');
      if (site.url !== undefined && new URL(site.url).protocol !== `${protocol}:`) issue('url', `the url does not start with ${protocol}://`, `a ${protocol}:// URL for protocol ${protocol}`);
      if ((site.user === undefined) !== (site.password === undefined)) issue(site.user === undefined ? 'user' : 'password', 'basic authentication needs both user and password', 'both user and password, or neither');
    }
    if (protocol === 'as2') {
      if (site.url === undefined) issue('url', 'as2 needs the partner URL', 'the partner AS2 URL, like https://partner.example/as2');
      if (site.partner === undefined) issue('partner', 'as2 needs the partner AS2 id', 'the AS2 id the partner receives as');
      if (site.as2From === undefined) issue('as2From', 'as2 needs our AS2 id', 'the AS2 id we send as');
      if ((site.certificate === undefined) !== (site.privateKey === undefined)) {
        issue(site.certificate === undefined ? 'certificate' : 'privateKey', 'our certificate and privateKey go together', 'both certificate and privateKey (PEM files), or neither');
      }
      if (typeof site.sign === 'string' && site.certificate === undefined) issue('sign', 'signing needs our certificate and privateKey', 'false, or set certificate and privateKey');
      if (typeof site.encrypt === 'string' && site.partnerCertificate === undefined) issue('encrypt', 'encrypting needs partnerCertificate', 'false, or set partnerCertificate');
      if (site.mdnSigned === true && site.partnerCertificate === undefined) issue('mdnSigned', 'a signed MDN can only be verified with partnerCertificate', 'false, or set partnerCertificate');
      if (site.mdn === 'async' && site.asyncMdnUrl === undefined) issue('asyncMdnUrl', 'an asynchronous MDN needs the URL it is posted to', "our as2d's MDN URL, like https://ferry.example:4080/mdn");
      if (site.asyncMdnUrl !== undefined && site.mdn !== 'async') issue('asyncMdnUrl', 'only used with mdn: async', 'mdn: async alongside it, or no asyncMdnUrl');
    }
  })
  .transform((site) => {
    const as2 = site.protocol === 'as2';
    return {
      ...site,
      port: site.port ?? (site.url !== undefined ? portOfUrl(site.url) : DEFAULT_PORTS[site.protocol]),
      ...(as2
        ? {
            sign: site.sign ?? (site.certificate !== undefined ? ('sha-256' as const) : false),
            encrypt: site.encrypt ?? (site.partnerCertificate !== undefined ? ('aes256-cbc' as const) : false),
            compress: site.compress ?? false,
            mdn: site.mdn ?? 'sync',
            mdnSigned: site.mdnSigned ?? site.partnerCertificate !== undefined,
          }
        : {}),
    };
  });

function portOfUrl(url: string): number {
  const parsed = new URL(url);
  return parsed.port !== '' ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
}

export type SiteConfig = DeepReadonly<z.output<typeof siteSchema>>;
