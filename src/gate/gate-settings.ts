import { loadQualityFile } from './quality-file.js';
import { GateCheckConfigSchema, type GateConfig } from '../gate/gate-options.js';
import { mainCheckout } from './dependencies.js';
import { detectQualityChecks } from './detect-checks.js';
import type { GateRunInput } from '../model/gate-report.js';

const SettingsSource = { qualityFile: 'quality-file', config: 'config', detected: 'detected', none: 'none' } as const;
type SettingsSource = (typeof SettingsSource)[keyof typeof SettingsSource];

export interface ResolvedGateSettings {
  readonly settings: GateConfig;
  /** Where the checks came from. */
  readonly source: SettingsSource;
  readonly file?: string | undefined;
}

/**
 * A repository's gate settings: its `.tandem/quality.yaml` over tandem.config.yaml's `gate`
 * section (field by field), and with no checks in either, the checks `tandem init` would write
 * (the test runner with its parser and coverage, linters and type checkers the repository has).
 */
export async function resolveGateSettings(gate: GateConfig, repoDir: string): Promise<ResolvedGateSettings> {
  const quality = await loadQualityFile(repoDir);
  // env_allow comes from the service's own config only: a repository cannot grant its checks the service's secrets.
  const settings: GateConfig = { ...gate, ...quality?.gate, env_allow: gate.env_allow };
  if (settings.checks.length > 0) {
    const fromFile = quality?.gate.checks !== undefined;
    return { settings, source: fromFile ? SettingsSource.qualityFile : SettingsSource.config, file: fromFile ? quality?.file : undefined };
  }
  const detected = (await detectQualityChecks(repoDir)).checks.map((check) => GateCheckConfigSchema.parse(check));
  return { settings: { ...settings, checks: detected }, source: detected.length > 0 ? SettingsSource.detected : SettingsSource.none, file: quality?.file };
}

/**
 * Settings per gate run for the runtime: each task's worktree belongs to a repository whose main
 * checkout holds the quality file. It is read from there, not from the worktree, so an
 * implementer cannot loosen the gate that judges its own change.
 */
export function settingsForWorktree(gate: GateConfig): (input: GateRunInput) => Promise<GateConfig> {
  return async (input) => (await resolveGateSettings(gate, await mainCheckout(input.cwd))).settings;
}
