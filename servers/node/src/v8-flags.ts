/**
 * V8 flags for every component process.
 *
 * A daemon keeps a small live heap (sshd serving a session of small files: about 27 MB) while it
 * allocates fast. V8 sets the old generation's limit at about 1.4× the live size after each full
 * collection, which leaves it less headroom than the young generation may promote at once (its
 * semispaces grow to 16 MB), and then starts incremental marking after nearly every scavenge.
 * Measured here with --trace-gc: sshd ran a full mark-compact every 60–130 ms, marking was active
 * most of the time, and user CPU per small SFTP file was 1.6× what it is with a 64 MB floor under
 * that limit (ftpd: 1.15×). With the floor, 13,000 files later there had been no mark-compact at
 * all. Above about 40 MB of live heap V8's own limit leaves that headroom anyway, so the floor only
 * changes small heaps, at a cost of at most about 40 MB more per process before a full collection.
 * A floor below live size + 16 MB makes it worse (32 MB: a mark-compact after every scavenge).
 */
export const COMPONENT_V8_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** The flag's name in V8's spelling: `--initial_old_space_size` and `--initial-old-space-size` are one flag. */
function flagName(argument: string): string {
  return argument.split('=')[0]!.replace(/_/g, '-');
}

/**
 * The node's own execArgv for a component (as fork() would pass it), plus COMPONENT_V8_FLAGS
 * that the operator did not set already, in execArgv or NODE_OPTIONS.
 */
export function componentExecArgv(parent: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = new Set([...parent, ...nodeOptions.split(/\s+/)].filter((a) => a.startsWith('--')).map(flagName));
  return [...parent, ...COMPONENT_V8_FLAGS.filter((flag) => !given.has(flagName(flag)))];
}
