/**
 * Builds connectEngine() options from the global flags and the environment, so every command
 * talks to the daemon the docker CLI would, and --debug logs requests (credentials redacted).
 */
import type { ConnectEngineOptions } from '../engine/client.js';
import { debug, log, type CliRuntime } from './runtime.js';

/** connectEngine() options for this invocation: -H, --context, TLS flags, env, signal, --debug log. */
export function engineFromGlobals(rt: CliRuntime): ConnectEngineOptions {
  const g = rt.globals();
  return {
    env: rt.env,
    signal: rt.signal,
    tls: g.tls,
    tlsverify: g.tlsverify,
    ...(g.host === undefined ? {} : { host: g.host }),
    ...(g.context === undefined ? {} : { context: g.context }),
    ...(g.tlscacert === undefined ? {} : { tlscacert: g.tlscacert }),
    ...(g.tlscert === undefined ? {} : { tlscert: g.tlscert }),
    ...(g.tlskey === undefined ? {} : { tlskey: g.tlskey }),
    ...(g.debug ? { log: (line: string) => debug(rt, line) } : {}),
  };
}

/**
 * Connects to the engine for a command: resolves the endpoint, prints its warnings (e.g. an
 * unreadable config.json, ignored as the docker CLI does) and returns the client. The caller
 * closes it.
 */
export async function connectFromGlobals(rt: CliRuntime): Promise<import('../engine/client.js').EngineClient> {
  const { connectEngine } = await import('../engine/client.js');
  const engine = await connectEngine(engineFromGlobals(rt));
  for (const w of engine.endpoint.warnings) log(rt, `warning: ${w}`);
  return engine;
}
