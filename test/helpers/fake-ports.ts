import type { GateReport, QualityGate } from '../../src/model/gate-report.js';
import type { Workspace } from '../../src/workspace/workspace.js';

/** A workspace without git: every diff differs (no false "no progress"), commits get fake shas. */
export function fakeWorkspace(): Workspace & { commits: { path: string; stepId: string; attempt: number }[]; removed: string[] } {
  let diffs = 0;
  const commits: { path: string; stepId: string; attempt: number }[] = [];
  const removed: string[] = [];
  return {
    commits,
    removed,
    ensure: ({ taskId }) => Promise.resolve({ path: `/worktrees/${taskId}`, branch: `tandem/${taskId}` }),
    snapshot: () => Promise.resolve({ files: ['a.js'], status: '', contextFiles: [] }),
    reset: () => Promise.resolve(),
    diff: () => {
      diffs++;
      return Promise.resolve({
        patch: `+change ${diffs}`,
        files: [{ path: 'a.js', status: 'modified', insertions: 1, deletions: 0 }],
        insertions: 1,
        deletions: 0,
        fingerprint: `fp-${diffs}`,
      });
    },
    commit: (path, input) => {
      // Like git's: a step's attempt is committed once (a fix-up after validation is a later attempt).
      const existing = commits.findIndex((c) => c.path === path && c.stepId === input.stepId && c.attempt === input.attempt);
      if (existing >= 0) return Promise.resolve({ sha: `sha-${existing}`, created: false });
      commits.push({ path, stepId: input.stepId, attempt: input.attempt });
      return Promise.resolve({ sha: `sha-${commits.length - 1}`, created: true });
    },
    remove: ({ path }) => {
      removed.push(path);
      return Promise.resolve();
    },
  };
}

export function passingGate(): QualityGate {
  const report: GateReport = { passed: true, checks: [], duration_ms: 0, summary: 'no checks configured' };
  return { run: () => Promise.resolve(report) };
}
