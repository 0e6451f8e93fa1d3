import { hostname } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { InputError } from '../platform/errors.js';
import { roleServiceNames } from '../model/role-work.js';
import type { CommonFlags, ObserveFlags } from './common-options.js';

/** What `tandem serve` reads from its command line (and the helpers `watch` and `bot` share). */

export const SERVICE_NAMES = ['supervisor', ...roleServiceNames] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServeFlags extends CommonFlags, ObserveFlags {
  readonly id?: string;
  readonly leaseMs: number;
  readonly handBackMs: number;
  readonly resultTimeoutMs?: number;
  readonly natsWait: number;
}

/** `all` or service names, each once; anything else is bad input naming what is allowed. */
export function parseServices(names: readonly string[]): ServiceName[] | InputError {
  const chosen = new Set<ServiceName>();
  for (const name of names) {
    if (name === 'all') SERVICE_NAMES.forEach((s) => chosen.add(s));
    else if ((SERVICE_NAMES as readonly string[]).includes(name)) chosen.add(name as ServiceName);
    else return new InputError([{ file: 'command line', field: 'service', message: `unknown service "${name}": use ${SERVICE_NAMES.join(', ')} or all` }]);
  }
  if (chosen.size === 0)
    return new InputError([{ file: 'command line', field: 'service', message: `name the services to run: ${SERVICE_NAMES.join(', ')} or all` }]);
  return SERVICE_NAMES.filter((s) => chosen.has(s));
}

/**
 * A supervisor's lease on a task: renewed every 2 s, looked for by the others every 2 s, so a
 * crashed supervisor's tasks are taken over within about 8 s (ttl + one scan) of its last renewal.
 */
export const DEFAULT_LEASE_MS = 6_000;
/** How often a supervisor removes what crashed processes left behind (also once at start). */
export const SWEEP_INTERVAL_MS = 10 * 60_000;

/** Stable across restarts (a pod's name, a container's host name), so a restart finds its own leases. */
export function serviceId(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const chosen = [flag, env.POD_NAME, env.HOSTNAME].find((v) => v !== undefined && v.trim() !== '');
  return chosen?.trim() ?? hostname();
}

/** `300`, `300s`, `5m`, `1500ms` → milliseconds (a bare number is seconds). */
export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('must be a duration such as 300s, 5m or 0');
  const scale = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1_000;
  return Math.round(Number(match[1]) * scale);
}

export function millis(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 100) throw new InvalidArgumentError('must be a whole number of milliseconds, at least 100');
  return n;
}
