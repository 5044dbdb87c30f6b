/**
 * Builder flags (`--from=`, `--mount=`...) parsed with the builder's rules (BuildKit
 * `instructions/bflag.go`): unknown flags and missing values are errors, booleans take
 * `--x`, `--x=true` or `--x=false`, repeatable flags collect every value.
 */

/** A flag's kind. */
export type FlagKind = 'string' | 'bool' | 'strings';

/** The flags each instruction accepts (lower-case keyword → flag → kind). */
export const INSTRUCTION_FLAGS: Readonly<Record<string, Readonly<Record<string, FlagKind>>>> = {
  from: { platform: 'string' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  add: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    checksum: 'string',
    'keep-git-dir': 'bool',
    exclude: 'strings',
    unpack: 'bool',
  },
  run: { mount: 'strings', network: 'string', security: 'string', device: 'strings' },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** Parsed flag values. */
export type FlagValues = Record<string, string | boolean | string[]>;

/** Parses `flags` for `keyword`; returns the values or an error message in the builder's words. */
export function parseFlags(keyword: string, flags: readonly string[]): { values: FlagValues } | { error: string } {
  const spec = INSTRUCTION_FLAGS[keyword] ?? {};
  const values: FlagValues = {};
  for (const raw of flags) {
    if (!raw.startsWith('--')) return { error: `arg should start with -- : ${raw}` };
    if (raw === '--') break;
    const body = raw.slice(2);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const value = eq >= 0 ? body.slice(eq + 1) : '';
    const kind = spec[name];
    if (kind === undefined) {
      const known = Object.keys(spec);
      return {
        error: `unknown flag: --${name} for ${keyword.toUpperCase()}${known.length ? ` (it accepts ${known.map((k) => `--${k}`).join(', ')})` : ' (it takes no flags)'}`,
      };
    }
    if (kind !== 'strings' && Object.hasOwn(values, name)) return { error: `duplicate flag specified: --${name}` };
    if (kind === 'bool') {
      if (eq >= 0 && value === '') return { error: `missing a value on flag: --${name}` };
      const lower = value.toLowerCase();
      if (lower !== '' && lower !== 'true' && lower !== 'false') {
        return { error: `expecting boolean value for flag --${name}, not: ${value}` };
      }
      values[name] = lower !== 'false';
    } else {
      if (eq < 0) return { error: `missing a value on flag: --${name}` };
      if (kind === 'string') values[name] = value;
      else values[name] = [...((values[name] as string[] | undefined) ?? []), value];
    }
  }
  return { values };
}

/** Reads a string flag. */
export const flagString = (v: FlagValues, name: string): string | undefined => {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
};

/** Reads a repeatable flag. */
export const flagStrings = (v: FlagValues, name: string): string[] => {
  const x = v[name];
  return Array.isArray(x) ? x : [];
};

/** Reads a boolean flag. */
export const flagBool = (v: FlagValues, name: string): boolean => v[name] === true;

/** A RUN --mount value parsed (CSV `key=value` fields, as the builder reads it). */
export interface MountSpec {
  type: string;
  target?: string;
  source?: string;
  from?: string;
  id?: string;
}

const MOUNT_TYPES = new Set(['bind', 'cache', 'tmpfs', 'secret', 'ssh']);
const MOUNT_KEYS = new Set([
  'type',
  'from',
  'target',
  'dst',
  'destination',
  'dest',
  'source',
  'src',
  'readonly',
  'ro',
  'readwrite',
  'rw',
  'required',
  'id',
  'sharing',
  'mode',
  'uid',
  'gid',
  'size',
  'env',
]);

/**
 * Parses one `--mount=` value. `expand` expands variables in values (the builder expands every
 * value but `from`, which must not use variables). Returns the mount or an error message.
 */
export function parseMount(value: string, expand: (word: string) => string): MountSpec | { error: string } {
  const fields = parseCsvRecord(value);
  if (typeof fields === 'string') return { error: `failed to parse csv mounts: ${fields}` };
  const m: MountSpec = { type: 'bind' };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).toLowerCase();
    if (eq < 0) {
      if (['readonly', 'ro', 'readwrite', 'rw', 'required'].includes(key)) continue;
      return { error: `invalid field '${field}' must be a key=value pair` };
    }
    const raw = field.slice(eq + 1);
    if (!MOUNT_KEYS.has(key)) return { error: `unexpected key '${key}' in '${field}'` };
    if (key === 'from') {
      const i = raw.indexOf('$');
      if (i !== -1 && i !== raw.length - 1) {
        return { error: "'from' doesn't support variable expansion, define alias stage instead" };
      }
      m.from = raw;
      continue;
    }
    const v = expand(raw);
    switch (key) {
      case 'type':
        if (!MOUNT_TYPES.has(v.toLowerCase())) return { error: `unsupported mount type "${v}" (bind, cache, tmpfs, secret, ssh)` };
        m.type = v.toLowerCase();
        break;
      case 'target':
      case 'dst':
      case 'destination':
      case 'dest':
        m.target = v;
        break;
      case 'source':
      case 'src':
        m.source = v;
        break;
      case 'id':
        m.id = v;
        break;
      default:
        break;
    }
  }
  if ((m.type === 'bind' || m.type === 'cache' || m.type === 'tmpfs') && (m.target === undefined || m.target === '')) {
    return { error: `mount of type ${m.type} needs a target (target=/path)` };
  }
  return m;
}

// One record of Go's encoding/csv: comma-separated, fields may be "quoted" with "" for a quote.
function parseCsvRecord(text: string): string[] | string {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return 'extraneous or missing " in quoted-field';
        const c = text[i] as string;
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < text.length && text[i] !== ',') return 'extraneous or missing " in quoted-field';
    } else {
      while (i < text.length && text[i] !== ',') {
        if (text[i] === '"') return 'bare " in non-quoted-field';
        field += text[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= text.length) break;
    i++; // comma
  }
  return fields;
}
