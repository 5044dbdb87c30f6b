/**
 * Small shared types of the registry client: the credentials it can present and the
 * callbacks it reports through (library code never writes to stderr itself).
 */

import type { Credentials } from '../credentials/types.js';

/**
 * What the client can present to a registry: the credentials module's `Credentials`
 * (username/password, identity token, registry token), passed straight in.
 */
export type RegistryCredentials = Credentials;

/** Debug-log sink: one line per call, secrets already redacted. */
export type LogFn = (line: string) => void;

/** Receives registry `Warning: 299` texts and other advice meant for the user. */
export type WarnFn = (message: string) => void;
