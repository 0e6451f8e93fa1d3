import { execFileSync } from 'node:child_process';

/**
 * Live members of a process group as `ps` sees them, independent of the /proc reading under test.
 * Zombies are left out: this machine's init does not reap orphans, and a zombie runs nothing.
 */
export function groupSurvivors(pgid: number): string[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, state]) => Number(group) === pgid && state !== undefined && !state.startsWith('Z'))
    .map((fields) => fields.join(' '));
}
