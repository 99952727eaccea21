import type { FileStat } from '@ferry/core';

/**
 * Directory listings in the three shapes FTP clients read: `ls -l` lines (LIST), bare names
 * (NLST) and RFC 3659 facts (MLSD, MLST). Times are UTC, as RFC 3659 requires and as clients
 * parsing `ls` lines assume.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const HALF_YEAR_MS = 182 * 24 * 3600 * 1000;

/** The facts this server can give, in the order it gives them (RFC 3659 §7). */
export const MLST_FACTS = ['type', 'size', 'modify', 'perm'] as const;
export type MlstFact = (typeof MLST_FACTS)[number];

const pad2 = (n: number): string => String(n).padStart(2, '0');

function modeString(stat: FileStat): string {
  const kind = stat.type === 'directory' ? 'd' : stat.type === 'symlink' ? 'l' : '-';
  let bits = '';
  for (let shift = 8; shift >= 0; shift--) bits += stat.mode & (1 << shift) ? 'rwx'[(8 - shift) % 3] : '-';
  return kind + bits;
}

function lsTime(mtime: Date, now: number): string {
  const day = `${MONTHS[mtime.getUTCMonth()]} ${String(mtime.getUTCDate()).padStart(2, ' ')}`;
  // ls shows the year instead of the time for anything older than half a year (or in the future).
  const recent = mtime.getTime() <= now && now - mtime.getTime() < HALF_YEAR_MS;
  return recent ? `${day} ${pad2(mtime.getUTCHours())}:${pad2(mtime.getUTCMinutes())}` : `${day}  ${mtime.getUTCFullYear()}`;
}

/** One `ls -l` line; owner and group are not the host's, the listing shows the account's view. */
export function lsLine(stat: FileStat, now = Date.now()): string {
  return `${modeString(stat)} 1 ftp ftp ${String(stat.size).padStart(12)} ${lsTime(stat.mtime, now)} ${stat.name}`;
}

/** `YYYYMMDDHHMMSS`, UTC: MDTM and the modify fact (RFC 3659 §2.3). */
export function timeVal(date: Date): string {
  return (
    String(date.getUTCFullYear()).padStart(4, '0') +
    pad2(date.getUTCMonth() + 1) +
    pad2(date.getUTCDate()) +
    pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) +
    pad2(date.getUTCSeconds())
  );
}

/**
 * The facts of one entry, `type=file;size=3;modify=…;perm=…;` with `name` after a space.
 * `perm` (RFC 3659 §7.5.5) says what the account may do: everything in its own home.
 */
export function mlstEntry(stat: FileStat, name: string, facts: readonly MlstFact[]): string {
  const isDir = stat.type === 'directory';
  let out = '';
  for (const fact of facts) {
    switch (fact) {
      case 'type':
        out += `type=${isDir ? 'dir' : stat.type === 'file' ? 'file' : 'OS.unix=' + stat.type};`;
        break;
      case 'size':
        if (!isDir) out += `size=${stat.size};`;
        break;
      case 'modify':
        out += `modify=${timeVal(stat.mtime)};`;
        break;
      case 'perm':
        out += isDir ? 'perm=cdeflmp;' : 'perm=adfrw;';
        break;
    }
  }
  return `${out} ${name}`;
}

/** The FEAT line for MLST: every fact offered, the selected ones starred. */
export function mlstFeature(selected: readonly MlstFact[]): string {
  return `MLST ${MLST_FACTS.map((fact) => `${fact}${selected.includes(fact) ? '*' : ''};`).join('')}`;
}

/** OPTS MLST: the facts asked for that this server knows (case-insensitive), in its order. */
export function selectFacts(arg: string): MlstFact[] {
  const asked = new Set(
    arg
      .split(';')
      .map((fact) => fact.trim().toLowerCase())
      .filter(Boolean),
  );
  return MLST_FACTS.filter((fact) => asked.has(fact));
}
