import { FerryError } from '@ferry/core';

/**
 * Client paths → virtual paths inside the account home. Stricter than the storage jail on
 * purpose: a `..` segment is refused outright (even one that would stay inside the home), and so
 * is an encoded `/`, `\` or NUL inside a segment, so that no spelling of a URL reaches a file the
 * plain spelling would not.
 */

function outside(input: string): FerryError {
  return new FerryError('FERRY_ERR_PATH_OUTSIDE_HOME', `${input}: ".." is not allowed in a path`, { details: { path: input } });
}

function invalid(input: string, reason: string): FerryError {
  return new FerryError('FERRY_ERR_INVALID_PATH', `${input}: ${reason}`, { details: { path: input } });
}

/** Checks decoded segments and joins them: `/`, `/a`, `/a/b`. */
function joined(segments: readonly string[], shown: string): string {
  const kept: string[] = [];
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw outside(shown);
    if (segment.includes('\0')) throw invalid(shown, 'contains a NUL byte');
    if (segment.includes('\\')) throw invalid(shown, 'contains a backslash');
    kept.push(segment);
  }
  return `/${kept.join('/')}`;
}

/** A percent-encoded URL path below `prefix` (e.g. `/files`) → virtual path. */
export function pathFromUrl(urlPath: string, prefix: string): string {
  const rest = urlPath.slice(prefix.length);
  if (!urlPath.startsWith(prefix) || (rest !== '' && !rest.startsWith('/'))) throw invalid(urlPath, `not below ${prefix}`);
  const decoded = rest.split('/').map((segment) => {
    let text: string;
    try {
      text = decodeURIComponent(segment);
    } catch {
      throw invalid(urlPath, 'malformed percent-encoding');
    }
    // `%2f` must not turn one segment into two (nor `%2e%2e` sneak a parent in: checked in joined()).
    if (text.includes('/')) throw invalid(urlPath, 'an encoded "/" inside a path segment');
    return text;
  });
  return joined(decoded, urlPath);
}

/** A path given as plain text (tus metadata): the same rules, relative paths from the home. */
export function pathFromText(text: string): string {
  return joined(text.split('/'), text);
}

/** The MOVE `Destination` header: `/files/<path>` or a full URL whose path is below /files. */
export function destinationPath(destination: string | undefined, prefix: string): string {
  if (destination === undefined || destination === '') throw new FerryError('FERRY_ERR_BAD_REQUEST', 'MOVE needs a Destination header');
  let urlPath = destination;
  if (!destination.startsWith('/')) {
    try {
      urlPath = new URL(destination).pathname;
    } catch {
      throw new FerryError('FERRY_ERR_BAD_REQUEST', 'the Destination header is neither a path nor a URL');
    }
  }
  const queryAt = urlPath.search(/[?#]/);
  return pathFromUrl(queryAt === -1 ? urlPath : urlPath.slice(0, queryAt), prefix);
}

/** URL path of a virtual path, each segment percent-encoded. */
export function urlFor(prefix: string, virtualPath: string): string {
  return `${prefix}${virtualPath
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/')}`;
}
