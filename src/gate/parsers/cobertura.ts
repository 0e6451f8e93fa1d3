import { join } from 'node:path';
import { parsed, unreadable, type OutputParser } from './parsed-output.js';
import { coverageFromFiles } from './coverage-totals.js';
import { percent, relativePath } from './paths.js';
import { findAll, parseXml, type XmlElement } from './xml.js';

/**
 * Cobertura XML (coverage.py `coverage xml`, Istanbul's `cobertura` reporter, many JVM tools).
 * Class file names are relative to the first `<source>`; classes of one file are merged.
 */
export const parseCobertura: OutputParser = ({ text, root }) => {
  let document: XmlElement;
  try {
    document = parseXml(text);
  } catch (error) {
    return unreadable(`it is not XML (${error instanceof Error ? error.message : String(error)})`);
  }
  const [coverageElement] = findAll(document, 'coverage');
  if (coverageElement === undefined) return unreadable('it has no <coverage> element (is this a Cobertura XML report?)');
  const source = findAll(coverageElement, 'source')[0]?.text.trim();
  const hitsByFile = new Map<string, Map<number, number>>();
  for (const cls of findAll(coverageElement, 'class')) {
    const name = cls.attributes.filename ?? cls.attributes.name ?? '';
    const file = relativePath(root, source && !name.startsWith('/') ? join(source, name) : name);
    const hits = hitsByFile.get(file) ?? new Map<number, number>();
    hitsByFile.set(file, hits);
    // Only the class's own <lines>, not those repeated under <methods>.
    const lines = cls.children.filter((c) => c.name === 'lines').flatMap((c) => c.children.filter((l) => l.name === 'line'));
    for (const line of lines) {
      const number = Number(line.attributes.number);
      if (!Number.isInteger(number) || number <= 0) continue;
      hits.set(number, Math.max(hits.get(number) ?? 0, Number(line.attributes.hits) || 0));
    }
  }
  const files = new Map(
    [...hitsByFile.entries()].map(([file, hits]) => {
      const entries = [...hits.entries()];
      return [
        file,
        { covered: entries.filter(([, n]) => n > 0).length, total: entries.length, uncovered: entries.filter(([, n]) => n === 0).map(([l]) => l) },
      ] as const;
    }),
  );
  const coverage = coverageFromFiles(files);
  const valid = Number(coverageElement.attributes['lines-valid']);
  const covered = Number(coverageElement.attributes['lines-covered']);
  if (Number.isFinite(valid) && Number.isFinite(covered) && coverageElement.attributes['lines-valid'] !== undefined) {
    return parsed({ coverage: { ...coverage, lines: { covered, total: valid, pct: percent(covered, valid) } } });
  }
  return parsed({ coverage });
};
