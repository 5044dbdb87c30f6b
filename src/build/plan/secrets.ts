/**
 * Secret-looking names (ARG/ENV) and credential-looking files, for the lint rules and for
 * redacting values from plan output.
 */

// Name tokens that mark a secret, as BuildKit's SecretsUsedInArgOrEnv rule chooses them.
const SECRET_TOKENS = new Set([
  'apikey',
  'auth',
  'credential',
  'credentials',
  'key',
  'passphrase',
  'password',
  'passwd',
  'pass',
  'pword',
  'secret',
  'secrets',
  'token',
  'tokens',
]);

/**
 * True when an ARG/ENV name looks like it holds a secret: one of its words (split at `_`, `-`,
 * `.` and camelCase) is PASSWORD, TOKEN, SECRET, KEY... `API_KEY` and `dbPassword` are,
 * `KEYBOARD`, `MONKEY` and `PUBLIC_KEY` are not.
 */
export function isSecretName(name: string): boolean {
  const tokens = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .split(/[^A-Za-z0-9]+/)
    .map((t) => t.toLowerCase())
    .filter((t) => t !== '');
  if (tokens.includes('public')) return false;
  return tokens.some((t) => SECRET_TOKENS.has(t));
}

const CREDENTIAL_BASENAMES = new Set([
  '.npmrc',
  '.pypirc',
  '.netrc',
  '_netrc',
  '.git-credentials',
  '.dockercfg',
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  '.htpasswd',
]);
const ENV_TEMPLATES = /^\.env\.(example|sample|template|dist|defaults)$/i;

/**
 * Why a context path looks like it holds credentials, or undefined. Paths are relative and
 * `/`-separated.
 */
export function credentialFileReason(path: string): string | undefined {
  const p = path.replace(/^\.\//, '').replace(/\/+$/, '');
  const base = p.slice(p.lastIndexOf('/') + 1);
  if (p === '.docker/config.json' || p.endsWith('/.docker/config.json')) return 'docker registry credentials';
  if (p === '.aws/credentials' || p.endsWith('/.aws/credentials')) return 'AWS credentials';
  if (p === '.kube/config' || p.endsWith('/.kube/config')) return 'Kubernetes credentials';
  if (base === '.env' || (base.startsWith('.env.') && !ENV_TEMPLATES.test(base))) return 'environment file (often holds secrets)';
  if (CREDENTIAL_BASENAMES.has(base)) return base.startsWith('id_') ? 'SSH private key' : 'credentials file';
  if (/\.(key|p12|pfx)$/i.test(base)) return 'private key or keystore';
  return undefined;
}
