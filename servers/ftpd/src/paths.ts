/**
 * FTP paths as clients write them, onto the virtual paths of the core storage. The storage
 * normalizes and refuses what leaves the home (`..` above `/`), so nothing here is a security
 * check: it only says what a client's relative path is relative to.
 */

/** The path the client means: absolute as given, relative to the working directory otherwise. */
export function resolveClientPath(cwd: string, arg: string): string {
  if (arg === '') return cwd;
  if (arg.startsWith('/')) return arg;
  return cwd === '/' ? `/${arg}` : `${cwd}/${arg}`;
}

/** A path inside a 257 reply: RFC 959 doubles embedded quotes. */
export function quotePath(path: string): string {
  return `"${path.replace(/"/g, '""')}"`;
}

/**
 * LIST, NLST and STAT accept `ls` options (`LIST -la dir`) from many clients; they are read as
 * options, not as names, the way vsftpd and proftpd read them. Returns the path part.
 */
export function stripListOptions(arg: string): string {
  let rest = arg.trimStart();
  while (rest.startsWith('-')) {
    const space = rest.indexOf(' ');
    rest = space === -1 ? '' : rest.slice(space + 1).trimStart();
  }
  return rest;
}
