/**
 * The environment of commands tandem runs on a repository's behalf (gate checks, commit hooks): only
 * what builds and tests need, never the model keys and bus credentials of the service running them.
 * A repository's code must not be able to read (and send away) the secrets of the agent runners.
 */

/** Passed through: the shell, the locale, the temp folder, proxies and toolchain locations. */
const ALLOWED = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'PWD',
  'TERM',
  'TZ',
  'LANG',
  'LANGUAGE',
  'TMPDIR',
  'TMP',
  'TEMP',
  'CI',
  'NODE_ENV',
  'NODE_PATH',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'GOPATH',
  'GOROOT',
  'GOCACHE',
  'GOMODCACHE',
  'GOFLAGS',
  'CARGO_HOME',
  'RUSTUP_HOME',
  'JAVA_HOME',
  'VIRTUAL_ENV',
  'PYTHONPATH',
  'PIP_CACHE_DIR',
  'npm_config_cache',
  'COREPACK_HOME',
  'PNPM_HOME',
]);
/** Prefixes passed through: locale categories, XDG folders. */
const ALLOWED_PREFIXES = ['LC_', 'XDG_'];

/** Never passed, even when allowed by prefix: model keys, cloud and bus credentials, any token or key. */
const SECRET =
  /^(ANTHROPIC_|CLAUDE_|GEMINI_|GOOGLE_|OPENAI_|CODEX_|OLLAMA_|AZURE_|AWS_|NATS_|TELEGRAM_|OTEL_EXPORTER_OTLP_HEADERS)|(_API_KEY|_APIKEY|_TOKEN|_SECRET|_PASSWORD|_CREDENTIALS?|_KEY)$/i;

/** Whether a variable of the service's environment may reach a repository's commands. */
export function isSafeVariable(name: string): boolean {
  if (SECRET.test(name)) return false;
  return ALLOWED.has(name) || ALLOWED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/**
 * The service's environment cut down to the allow-list, plus the variables named in `allow` (the
 * `gate.env_allow` setting: a person's explicit choice, so it may name a token a build needs).
 */
export function safeEnv(env: Readonly<Record<string, string | undefined>>, allow: readonly string[] = []): Record<string, string> {
  const extra = new Set(allow);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (extra.has(name) || isSafeVariable(name))) out[name] = value;
  }
  return out;
}
