import type { Command } from 'commander';
import { log, printJson, printResult, type CliRuntime } from '../runtime.js';

interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
  caCert?: string;
  json?: boolean;
}

/** Reads all of stdin as text (for --password-stdin). */
async function readStdin(rt: CliRuntime): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of rt.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `imgtool login [SERVER]`: checks the credentials against the registry itself (ping,
 * challenge, Basic or Bearer token) and stores them only when the registry accepted them,
 * where the docker CLI would (credential helper or config.json). The username can come from
 * IMGTOOL_USERNAME and the password from stdin or IMGTOOL_PASSWORD, so Harbor robot names
 * like `robot$team+ci` need no shell quoting.
 */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('login')
    .description('Log in to a registry (Docker Hub by default): verify the credentials, then store them like "docker login"')
    .argument('[server]', 'registry host[:port]', 'docker.io')
    .option('-u, --username <username>', 'username (or set IMGTOOL_USERNAME)')
    .option('-p, --password <password>', 'password (insecure: visible in the process list; prefer --password-stdin or IMGTOOL_PASSWORD)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--insecure', 'allow plain HTTP and unverified TLS for this registry')
    .option('--ca-cert <file>', 'trust this CA certificate for the registry')
    .option('--json', 'print the result as JSON')
    .action(async (server: string, options: LoginOptions) => {
      const { ImgtoolError } = await import('../../image/errors.js');
      const { normalizeRegistry } = await import('../../image/reference.js');
      const registry = normalizeRegistry(server);
      if (registry === '') throw new ImgtoolError('USAGE', `"${server}" does not name a registry`);

      const username = options.username ?? rt.env['IMGTOOL_USERNAME'];
      if (username === undefined || username === '') {
        throw new ImgtoolError('USAGE', 'login needs a username', { hint: 'pass -u USER, or set IMGTOOL_USERNAME (no shell quoting needed for names like robot$team+ci)' });
      }
      if (options.password !== undefined && options.passwordStdin) {
        throw new ImgtoolError('USAGE', '--password and --password-stdin are mutually exclusive');
      }
      let password: string | undefined;
      if (options.passwordStdin) {
        // Like the docker CLI: the trailing newline of `echo $TOKEN |` is not part of the password.
        password = (await readStdin(rt)).replace(/\r?\n$/, '');
      } else if (options.password !== undefined) {
        log(rt, 'warning: --password is visible to other users in the process list; use --password-stdin or IMGTOOL_PASSWORD');
        password = options.password;
      } else {
        password = rt.env['IMGTOOL_PASSWORD'];
      }
      if (password === undefined || password === '') {
        throw new ImgtoolError('USAGE', 'login needs a password', { hint: 'pipe it to --password-stdin, or set IMGTOOL_PASSWORD' });
      }

      const { verifyLogin } = await import('../../registry/client/login.js');
      const { storeCredentials } = await import('../../registry/credentials/index.js');
      const warn = (m: string): void => log(rt, `warning: ${m}`);
      let verified: { identityToken?: string };
      try {
        verified = await verifyLogin(registry, { username, password }, {
          signal: rt.signal,
          warn,
          log: (line: string) => {
            if (rt.globals().debug) log(rt, `debug: ${line.split(password).join('***')}`);
          },
          ...(options.insecure ? { insecure: true } : {}),
          ...(options.caCert ? { caFile: options.caCert } : {}),
        });
      } catch (err) {
        // Belt and braces: whatever the failure says, the password is never printed.
        if (err instanceof ImgtoolError && (err.message.includes(password) || (err.hint ?? '').includes(password))) {
          throw new ImgtoolError(err.code, err.message.split(password).join('***'), {
            details: err.details,
            ...(err.hint === undefined ? {} : { hint: err.hint.split(password).join('***') }),
          });
        }
        throw err;
      }
      const creds = verified.identityToken ? { username, identityToken: verified.identityToken } : { username, password };
      const stored = await storeCredentials(registry, creds, { env: rt.env, signal: rt.signal, warn });
      if (stored.helper === undefined && !options.json) {
        log(rt, `warning: credentials are stored unencrypted (base64 only) in ${stored.path}; configure a credential helper ("credsStore") to keep them in a keychain`);
      }
      if (options.json) printJson(rt, { registry, username, key: stored.key, path: stored.path, ...(stored.helper ? { helper: stored.helper } : {}), identityToken: verified.identityToken !== undefined });
      else printResult(rt, 'Login Succeeded');
    });
}
