import { describe, expect, it } from 'vitest';
import { metadataModeFromMountInfo } from '../src/storage/mounts.js';

// Lines as the kernel writes them: `id parent major:minor root point options [optional…] - type source super`.
const line = (id: number, point: string, type: string): string => `${id} 1 0:${id} / ${point} rw,relatime shared:${id} - ${type} src${id} rw`;

describe('storage: metadata calls chosen from the mount table', () => {
  const base = [line(1, '/', 'ext4'), line(2, '/proc', 'proc'), line(3, '/srv/nfs', 'nfs4')];

  it('is inline for a home on a local filesystem with nothing remote below it', () => {
    expect(metadataModeFromMountInfo(base.join('\n'), '/home/alice')).toBe('inline');
    expect(metadataModeFromMountInfo([...base, line(4, '/home', 'xfs')].join('\n'), '/home/alice')).toBe('inline');
  });

  it('is pooled for a home on a network filesystem', () => {
    expect(metadataModeFromMountInfo(base.join('\n'), '/srv/nfs/alice')).toBe('pooled');
    expect(metadataModeFromMountInfo([...base, line(4, '/home/bob', 'fuse.sshfs')].join('\n'), '/home/bob')).toBe('pooled');
  });

  it('is pooled when a remote filesystem is mounted anywhere below the home', () => {
    expect(metadataModeFromMountInfo([...base, line(4, '/home/alice/share', 'cifs')].join('\n'), '/home/alice')).toBe('pooled');
    expect(metadataModeFromMountInfo([...base, line(4, '/home/alicex', 'cifs')].join('\n'), '/home/alice')).toBe('inline');
  });

  it('takes the last of stacked mounts and reads escaped mount points', () => {
    const stacked = [...base, line(4, '/data', 'nfs'), line(5, '/data', 'ext4')].join('\n');
    expect(metadataModeFromMountInfo(stacked, '/data/alice')).toBe('inline');
    const spaced = [...base, line(4, '/home/a\\040b', 'nfs')].join('\n');
    expect(metadataModeFromMountInfo(spaced, '/home/a b/in')).toBe('pooled');
  });
});
