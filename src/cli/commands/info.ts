/** `imgtool info`: which engine imgtool talks to, why, and what it is. */
// Only type imports and the light runtime here: undici loads inside connectFromGlobals.
import type { Command } from 'commander';
import type { EngineClient } from '../../engine/client.js';
import type { EngineVersion, PingResult, SystemInfo } from '../../engine/types.js';
import { connectFromGlobals } from '../engine-options.js';
import { printJson, printResult, type CliRuntime } from '../runtime.js';

/** What `imgtool info --json` prints. */
export interface InfoResult {
  readonly endpoint: string;
  /** How the endpoint was chosen: -H/--host, DOCKER_HOST, context "x" (...), default. */
  readonly chosenBy: string;
  readonly source: string;
  readonly context: string;
  readonly tls: boolean;
  readonly serverVersion: string;
  /** The API version imgtool uses with this daemon. */
  readonly apiVersion: string;
  /** How apiVersion was decided. */
  readonly apiVersionSource: 'negotiated' | 'DOCKER_API_VERSION';
  /** The daemon's newest API version and its oldest. */
  readonly serverApiVersion: string;
  readonly serverMinApiVersion: string | undefined;
  /** Builder-Version from /_ping: "2" BuildKit, "1" classic; "1" when not announced (the API's default). */
  readonly builderVersion: string;
  /** "daemon" when /_ping announced it (daemon.json `features.buildkit`), else "api-default". */
  readonly builderVersionSource: 'daemon' | 'api-default';
  readonly os: string;
  readonly arch: string;
  readonly kernelVersion: string | undefined;
  readonly operatingSystem: string | undefined;
  readonly storageDriver: string | undefined;
  readonly experimental: boolean;
}

/** Gathers the facts: ping (negotiation), /version and /info. */
export async function gatherInfo(engine: EngineClient, signal: AbortSignal): Promise<InfoResult> {
  const ping: PingResult = await engine.ping(signal);
  const [apiVersion, version, info]: [string, EngineVersion, SystemInfo] = await Promise.all([
    engine.apiVersion(signal),
    engine.version(signal),
    engine.info(signal),
  ]);
  const ep = engine.endpoint;
  return {
    endpoint: ep.host,
    chosenBy: ep.how,
    source: ep.source,
    context: ep.context,
    tls: ep.tls !== undefined,
    serverVersion: version.Version,
    apiVersion,
    apiVersionSource: engine.versionPinned ? 'DOCKER_API_VERSION' : 'negotiated',
    serverApiVersion: version.ApiVersion,
    serverMinApiVersion: version.MinAPIVersion,
    // Without `features.buildkit` in daemon.json, dockerd announces nothing and POST /build
    // without `version` runs the classic builder.
    builderVersion: ping.builderVersion ?? '1',
    builderVersionSource: ping.builderVersion === undefined ? 'api-default' : 'daemon',
    os: version.Os,
    arch: version.Arch,
    kernelVersion: version.KernelVersion ?? info.KernelVersion,
    operatingSystem: info.OperatingSystem,
    storageDriver: info.Driver,
    experimental: ping.experimental,
  };
}

function builderName(r: InfoResult): string {
  const name = r.builderVersion === '2' ? '2 (BuildKit)' : r.builderVersion === '1' ? '1 (classic)' : r.builderVersion;
  return r.builderVersionSource === 'daemon' ? name : `${name}, not announced by the daemon (the API default)`;
}

/** Runs `imgtool info`. */
export async function runInfo(rt: CliRuntime, opts: { json: boolean }): Promise<void> {
  const engine = await connectFromGlobals(rt);
  try {
    const r = await gatherInfo(engine, rt.signal);
    if (opts.json) {
      printJson(rt, r);
      return;
    }
    const rows: Array<[string, string]> = [
      ['Endpoint', r.endpoint],
      ['Chosen by', r.chosenBy],
      ['Context', r.context],
      ['TLS', r.tls ? 'yes' : 'no'],
      ['Server version', r.serverVersion],
      ['API version', `${r.apiVersion} (${r.apiVersionSource === 'negotiated' ? `negotiated; server ${r.serverApiVersion}, min ${r.serverMinApiVersion ?? '?'}` : 'pinned by DOCKER_API_VERSION'})`],
      ['Builder version', builderName(r)],
      ['OS/Arch', `${r.os}/${r.arch}`],
      ['Kernel', r.kernelVersion ?? 'unknown'],
      ['Operating system', r.operatingSystem ?? 'unknown'],
      ['Storage driver', r.storageDriver ?? 'unknown'],
    ];
    const width = Math.max(...rows.map(([k]) => k.length)) + 1;
    printResult(rt, rows.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n'));
  } finally {
    await engine.close();
  }
}

/** Registers `imgtool info [--json]`. */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('info')
    .description('show the Docker Engine in use: endpoint, how it was chosen, versions, builder, OS/arch')
    .option('--json', 'print the result as JSON', false)
    .action(async (opts: { json: boolean }) => {
      await runInfo(rt, opts);
    });
}
