import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The folders of PATH, in order: where a command without a slash is looked for. */
export function pathEntries(env: Readonly<Record<string, string | undefined>>): string[] {
  return (env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== '');
}

/** Looks a command up on PATH the way a spawn would; a path with a slash is taken as it is. */
export function findOnPath(command: string, env: Readonly<Record<string, string | undefined>>, cwd: string): string | null {
  const candidates = command.includes('/') ? [path.resolve(cwd, command)] : pathEntries(env).map((d) => path.join(d, command));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return null;
}
