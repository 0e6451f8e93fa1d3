import { readdirSync, readFileSync } from 'node:fs';

/**
 * Signals a whole process group. Children are spawned as group leaders (`detached`), so their pid is
 * also their group id; signalling `-pid` reaches grandchildren that a plain `kill(pid)` would orphan.
 * Returns false when the group no longer exists.
 */
export function killProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  assertPid(pid);
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    if (isErrno(error, 'ESRCH')) return false;
    throw error;
  }
}

/**
 * Whether a process exists and has not exited. Zombies count as gone: in containers whose init does
 * not reap orphans, a killed grandchild stays a zombie forever, yet it runs nothing and holds no pipe.
 */
export function isProcessAlive(pid: number): boolean {
  assertPid(pid);
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return !isErrno(error, 'ESRCH');
  }
  const stat = readProcStat(pid);
  return stat === undefined || stat.state !== 'Z';
}

/** Whether any live (non-zombie) member of process group `pgid` remains. */
export function isProcessGroupAlive(pgid: number): boolean {
  assertPid(pgid);
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
  const members = liveGroupMembers(pgid);
  // Without /proc (macOS) the signal probe is all we can know.
  return members === undefined || members.length > 0;
}

/**
 * Pids of the live members of a group, read from /proc; undefined where /proc is not available.
 */
function liveGroupMembers(pgid: number): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z') members.push(Number(entry));
  }
  return members;
}

interface ProcStat {
  readonly state: string;
  readonly pgrp: number;
}

function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself contain spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  if (state === undefined || !Number.isInteger(pgrp)) return undefined;
  return { state, pgrp };
}

function assertPid(pid: number): void {
  // kill(-0) or kill(-1) would signal our own group or every process we may signal.
  if (!Number.isInteger(pid) || pid <= 1) throw new RangeError(`not a child process id: ${pid}`);
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
