import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dockerfile = readFileSync(join(root, 'deploy', 'Dockerfile'), 'utf8');

/** Instructions with their continuation lines joined, comments dropped. */
function instructions(text: string): { keyword: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

describe('deploy/Dockerfile', () => {
  const all = instructions(dockerfile);

  it('is a valid Dockerfile (dockerfile-utils), and the linter does flag a broken one', () => {
    expect(validate(dockerfile).map((d) => d.message)).toEqual([]);
    expect(validate('FORM node\nRUN true\n').map((d) => d.message)).toEqual(['No source image provided with `FROM`', 'Unknown instruction: FORM']);
  });

  it('runs as the non-root node user, with a health check on /healthz', () => {
    const lastUser = all.filter((i) => i.keyword === 'USER').at(-1);
    expect(lastUser?.args).toBe('node');
    const healthchecks = all.filter((i) => i.keyword === 'HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]?.args).toMatch(
      /CMD \["node", "-e", "fetch\('http:\/\/127\.0\.0\.1:' \+ \(process\.env\.TANDEM_METRICS_PORT \|\| '9464'\) \+ '\/healthz'\)/,
    );
    expect(all.find((i) => i.keyword === 'ENTRYPOINT')?.args).toBe('["node", "/app/bin/tandem.js"]');
  });

  it('builds only from the project files and the npm registry', () => {
    // Base images are the official node image; nothing is downloaded by other means.
    expect(all.filter((i) => i.keyword === 'FROM').map((i) => i.args)).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
    expect(all.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args).toMatch(/^NODE_IMAGE=node:20\.\d+\.\d+-bookworm$/);
    expect(all.filter((i) => i.keyword === 'ADD')).toEqual([]);
    for (const run of all.filter((i) => i.keyword === 'RUN')) expect(run.args).not.toMatch(/apt-get|apk |curl |wget |git clone|pip install/);
    // Every COPY from the build context names a file or folder of this repository.
    for (const copy of all.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) expect(existsSync(join(root, source)), source).toBe(true);
    }
    const ignore = readFileSync(join(root, 'deploy', 'Dockerfile.dockerignore'), 'utf8');
    expect(ignore).toMatch(/^\*\*$/m);
  });
});
