import { findingPlace, verdictLine, type StepFindings, type ValidationVerdict } from '../model/role-outputs.js';

/**
 * The findings of a task's report steps as Markdown lines, the same wherever a person reads them
 * (`tandem status TASK`, `results/<id>.md`, the summary): per step its summary, each finding with its
 * `file:line` where it applies, then the recommendations.
 */
export function findingsLines(findings: readonly StepFindings[]): string[] {
  const lines: string[] = [];
  for (const { stepId, report } of findings) {
    if (lines.length > 0) lines.push('');
    lines.push(`### ${stepId}: ${report.summary}`);
    if (report.findings.length === 0) lines.push('- no findings');
    for (const finding of report.findings) {
      const place = findingPlace(finding);
      lines.push(`- [${finding.severity}] ${place === undefined ? '' : `${place}: `}${finding.description}`);
    }
    if (report.recommendations.length > 0) lines.push('', 'Recommendations:', ...report.recommendations.map((r) => `- ${r}`));
  }
  return lines;
}

/** One line per finding, for prompts and short summaries. */
export function findingsBrief(findings: readonly StepFindings[]): string[] {
  return findings.flatMap(({ stepId, report }) => [
    `${stepId}: ${report.summary}`,
    ...report.findings.map((f) => `${stepId} ${findingPlace(f) ?? '-'} (${f.severity}): ${f.description}`),
    ...report.recommendations.map((r) => `${stepId} recommends: ${r}`),
  ]);
}

/** The validator's checklist as Markdown lines, the same in `status TASK`, `results/<id>.md` and the summary. */
export function validationLines(v: ValidationVerdict): string[] {
  return [
    `Verdict: ${verdictLine(v)} (${v.model}, validation ${v.call})`,
    ...(v.issues.length === 0 ? ['- no issue found'] : v.issues.map((i) => `- [ ] ${i}`)),
  ];
}
