import path from 'node:path';

/**
 * Whether `target` (absolute, or relative to `cwd`) lies outside `cwd`. Lexical: the CLIs report the
 * paths they are about to write, and the check must run before the write happens.
 */
export function isOutside(cwd: string, target: string): boolean {
  const root = path.resolve(cwd);
  const resolved = path.resolve(root, target);
  const relative = path.relative(root, resolved);
  return relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
}
