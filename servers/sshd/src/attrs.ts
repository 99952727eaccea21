import type { FileStat } from '@ferry/core';
import type { Attrs, NameEntry } from './sftp-packets.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const TYPE_LETTERS: Readonly<Record<number, string>> = {
  0o040000: 'd',
  0o120000: 'l',
  0o100000: '-',
  0o010000: 'p',
  0o140000: 's',
  0o020000: 'c',
  0o060000: 'b',
};

/** Mode of an upload in progress, before storage has published it. */
export const UPLOAD_MODE = S_IFREG | 0o644;

const seconds = (date: Date): number => Math.max(0, Math.floor(date.getTime() / 1000));

/**
 * What SFTP shows of a file. Owner ids are left out: they are the server's, not the account's, and
 * OpenSSH clients print the longname (which names the account) instead.
 */
export function attrsOf(stat: Pick<FileStat, 'size' | 'mode' | 'mtime'>): Attrs {
  const time = seconds(stat.mtime);
  return { size: stat.size, mode: stat.mode, atime: time, mtime: time };
}

/** `ls -l` style, as OpenSSH's sftp-server writes it; clients print it verbatim for `ls -l`. */
export function longname(stat: FileStat, owner: string, now = Date.now()): string {
  const type = TYPE_LETTERS[stat.mode & S_IFMT] ?? '?';
  const perms = permissionString(stat.mode);
  const size = String(stat.size).padStart(8);
  const who = owner.slice(0, 8).padEnd(8);
  return `${type}${perms}    1 ${who} ${who} ${size} ${dateColumn(stat.mtime, now)} ${stat.name}`;
}

export function nameEntry(stat: FileStat, owner: string, now?: number): NameEntry {
  return { filename: stat.name, longname: longname(stat, owner, now), attrs: attrsOf(stat) };
}

function permissionString(mode: number): string {
  const bit = (mask: number, letter: string): string => (mode & mask ? letter : '-');
  const special = (exec: number, flag: number, set: string, unset: string): string => {
    if (mode & flag) return mode & exec ? set : unset;
    return mode & exec ? 'x' : '-';
  };
  return (
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    special(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') +
    bit(0o020, 'w') +
    special(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') +
    bit(0o002, 'w') +
    special(0o001, 0o1000, 't', 'T')
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HALF_YEAR_MS = 182 * 24 * 3600 * 1000;

/** `Jan 02 15:04` for the last six months, `Jan 02  2006` otherwise (like ls). */
function dateColumn(mtime: Date, now: number): string {
  const month = MONTHS[mtime.getMonth()] ?? '???';
  const day = String(mtime.getDate()).padStart(2, '0');
  const recent = Math.abs(now - mtime.getTime()) < HALF_YEAR_MS;
  const tail = recent
    ? `${String(mtime.getHours()).padStart(2, '0')}:${String(mtime.getMinutes()).padStart(2, '0')}`
    : ` ${mtime.getFullYear()}`;
  return `${month} ${day} ${tail}`;
}
