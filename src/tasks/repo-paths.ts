import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export type RepoPathCheck =
  | { readonly inside: true; readonly exists: boolean /** Relative to the repository root, `/`-separated. */; readonly relative: string }
  | { readonly inside: false; readonly resolved: string };

/** Deepest path segments checked when climbing to an existing ancestor; far beyond any real tree. */
const MAX_DEPTH = 4096;

/**
 * realpath that also works for files not created yet: the nearest existing ancestor is resolved, so a
 * symlinked folder that points outside is still caught.
 */
async function realpathOfMaybeMissing(file: string): Promise<string> {
  const rest: string[] = [];
  let current = file;
  for (let depth = 0; depth < MAX_DEPTH; depth += 1) {
    try {
      return path.join(await realpath(current), ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) break;
      rest.push(path.basename(current));
      current = parent;
    }
  }
  return file;
}

function isWithin(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative === '' || (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative));
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Where a task's file entry points: inside the repository (as a root-relative path) or outside it. */
export async function checkRepoPath(toplevel: string, entry: string): Promise<RepoPathCheck> {
  const absolute = path.resolve(toplevel, entry);
  const realRoot = await realpathOfMaybeMissing(toplevel);
  const real = await realpathOfMaybeMissing(absolute);
  if (!isWithin(realRoot, real)) return { inside: false, resolved: real };
  // Keep the path as written when it is lexically inside; symlinks inside the repository stay symlinks.
  const lexical = isWithin(toplevel, absolute) ? path.relative(toplevel, absolute) : path.relative(realRoot, real);
  const trailing = entry.endsWith('/') && lexical !== '' ? '/' : '';
  const relative = lexical === '' ? '.' : `${lexical.split(path.sep).join('/')}${trailing}`;
  return { inside: true, exists: await exists(absolute), relative };
}
