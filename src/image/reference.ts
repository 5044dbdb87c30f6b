/**
 * Image references, parsed and normalised the way distribution/reference does
 * (`reference.go` grammar, `normalize.go` Docker Hub rules), so that a name means in imgtool
 * exactly what it means to the docker CLI:
 *
 *   app                   -> docker.io/library/app:latest
 *   user/app              -> docker.io/user/app:latest
 *   host:5000/a/b:tag     -> host:5000/a/b:tag
 *   app@sha256:<64 hex>   -> docker.io/library/app@sha256:<64 hex>
 *
 * Every rejection is an ImgtoolError('REFERENCE_INVALID') whose message names the part that
 * is wrong, because "invalid reference format" alone sends users guessing.
 */
import { ImgtoolError } from './errors.js';

/** Docker Hub's canonical registry name in references. */
export const DOCKER_HUB_REGISTRY = 'docker.io';
/** The legacy Hub name that normalises to `docker.io`. */
export const LEGACY_DOCKER_HUB_REGISTRY = 'index.docker.io';
/** Host that actually serves Docker Hub's Distribution API. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** Namespace that single-component Docker Hub names live in. */
export const OFFICIAL_REPOSITORY_NAMESPACE = 'library';
/** Tag used when a reference names neither a tag nor a digest. */
export const DEFAULT_TAG = 'latest';
/** Longest allowed repository name, domain included (distribution's NameTotalLengthMax). */
export const NAME_TOTAL_LENGTH_MAX = 255;

// Grammar pieces, copied in meaning from distribution/reference regexp.go.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN_AND_PORT = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const PATH_COMPONENT_RE = new RegExp(`^${PATH_COMPONENT}$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN_AND_PORT}$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const DIGEST_RE = new RegExp(`^${DIGEST}$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;

/** Hex lengths of the digest algorithms go-digest registers; others are "unsupported". */
const DIGEST_HEX_LENGTHS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/** The parts of a parsed reference, before {@link Reference} adds derived forms. */
export interface ReferenceParts {
  /** `docker.io` or `host[:port]` (IPv6 hosts in brackets). */
  readonly registry: string;
  /** Repository path within the registry, e.g. `library/app` or `team/app`. */
  readonly repository: string;
  readonly tag?: string;
  /** `algorithm:hex`, e.g. `sha256:...`. */
  readonly digest?: string;
}

/** Options for {@link parseReference}. */
export interface ParseReferenceOptions {
  /**
   * Tag to add when the input names neither a tag nor a digest (the docker CLI's
   * `TagNameOnly`). Default `latest`; `false` keeps the reference untagged, e.g. for
   * `push --all-tags` or a repository argument.
   */
  readonly defaultTag?: string | false;
}

/**
 * A normalised image reference. Immutable; `toString()` gives the fully qualified form
 * (`docker.io/library/app:latest`), `familiar` the short form users type (`app:latest`).
 */
export class Reference implements ReferenceParts {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;

  /** Builds a reference from already validated parts; use {@link parseReference} for input. */
  constructor(parts: ReferenceParts) {
    this.registry = parts.registry;
    this.repository = parts.repository;
    if (parts.tag !== undefined) this.tag = parts.tag;
    if (parts.digest !== undefined) this.digest = parts.digest;
  }

  /** `registry/repository`, without tag or digest: the fully qualified repository name. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** The repository name as the docker CLI shows it: `app`, `user/app`, `host:5000/a/b`. */
  get familiarName(): string {
    if (this.registry !== DOCKER_HUB_REGISTRY) return this.name;
    // `docker.io/evil.com/app` must not shorten to `evil.com/app`: that names another registry,
    // and the engine would push there with Docker Hub's credentials (found by fuzzing, issue 7).
    const first = this.repository.slice(0, this.repository.indexOf('/'));
    if (first.includes('.') || first === 'localhost') return this.name;
    const prefix = `${OFFICIAL_REPOSITORY_NAMESPACE}/`;
    // Only one-component official names lose `library/`; `library/a/b` stays as it is.
    if (this.repository.startsWith(prefix) && !this.repository.slice(prefix.length).includes('/')) {
      return this.repository.slice(prefix.length);
    }
    return this.repository;
  }

  /** The short form with tag and digest: `app:latest`, `host:5000/a/b@sha256:...`. */
  get familiar(): string {
    return this.familiarName + this.suffix();
  }

  /** True when the registry is Docker Hub. */
  get isDockerHub(): boolean {
    return this.registry === DOCKER_HUB_REGISTRY;
  }

  /** The fully qualified reference: `docker.io/library/app:latest`. */
  toString(): string {
    return this.name + this.suffix();
  }

  /** Same as toString(), so references serialise as strings in `--json` output. */
  toJSON(): string {
    return this.toString();
  }

  private suffix(): string {
    return (this.tag === undefined ? '' : `:${this.tag}`) + (this.digest === undefined ? '' : `@${this.digest}`);
  }
}

function invalid(input: string, why: string, hint?: string): ImgtoolError {
  return new ImgtoolError('REFERENCE_INVALID', `invalid reference "${input}": ${why}`, {
    details: { reference: input },
    ...(hint === undefined ? {} : { hint }),
  });
}

/**
 * Splits off the registry the way distribution's splitDockerDomain does: the first component
 * is a registry only if it contains `.` or `:`, is `localhost`, or has uppercase letters
 * (repository paths cannot, hosts can).
 */
function splitDomain(name: string): { registry: string; path: string } {
  const slash = name.indexOf('/');
  let registry: string;
  let path: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    registry = DOCKER_HUB_REGISTRY;
    path = name;
  } else {
    registry = first;
    path = name.slice(slash + 1);
  }
  if (registry === LEGACY_DOCKER_HUB_REGISTRY) registry = DOCKER_HUB_REGISTRY;
  if (registry === DOCKER_HUB_REGISTRY && !path.includes('/')) path = `${OFFICIAL_REPOSITORY_NAMESPACE}/${path}`;
  return { registry, path };
}

/** Explains why one repository path component does not match the grammar. */
function checkPathComponent(input: string, component: string): void {
  if (PATH_COMPONENT_RE.test(component)) return;
  if (component === '') {
    throw invalid(input, 'the repository path has an empty component (two "/" in a row, or a leading or trailing "/")');
  }
  if (PATH_COMPONENT_RE.test(component.toLowerCase())) {
    throw invalid(input, `repository name must be lowercase ("${component}" has uppercase letters)`, `use "${component.toLowerCase()}"`);
  }
  throw invalid(
    input,
    `repository path component "${component}" is invalid: it may contain only lowercase letters, digits and the separators ".", "_", "__" and "-", and must start and end with a letter or digit`,
  );
}

function checkDigest(input: string, digest: string): void {
  if (!DIGEST_RE.test(digest)) {
    throw invalid(input, `digest "${digest}" is not of the form <algorithm>:<hex> (e.g. sha256: followed by 64 hex digits)`);
  }
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const want = DIGEST_HEX_LENGTHS[algorithm];
  if (want === undefined) {
    throw invalid(input, `digest algorithm "${algorithm}" is not supported (use sha256, sha384 or sha512)`);
  }
  if (hex.length !== want) {
    throw invalid(input, `a ${algorithm} digest has ${want} hex digits, "${digest}" has ${hex.length}`);
  }
  if (!/^[a-f0-9]+$/.test(hex)) {
    throw invalid(input, `digest "${digest}" must be lowercase hex`);
  }
}

/**
 * Parses and normalises an image reference like the docker CLI (distribution/reference
 * `ParseNormalizedNamed` followed by `TagNameOnly`). Throws ImgtoolError('REFERENCE_INVALID')
 * saying what is wrong.
 */
export function parseReference(input: string, options: ParseReferenceOptions = {}): Reference {
  if (input === '') throw invalid(input, 'the reference is empty');
  if (IDENTIFIER_RE.test(input)) {
    throw invalid(input, 'a 64-character hexadecimal string is an image ID, not a repository name', 'use the image ID directly where an ID is accepted, or name a repository');
  }
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(input);
  if (scheme) {
    throw invalid(input, `references have no URL scheme ("${scheme[0]}")`, `drop "${scheme[0]}": e.g. ${input.slice(scheme[0].length)}`);
  }

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (rest === '') throw invalid(input, 'a digest needs a repository name before "@"');
    checkDigest(input, digest);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon !== -1 && colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (rest === '') throw invalid(input, 'a tag needs a repository name before ":"');
    if (!TAG_RE.test(tag)) {
      throw invalid(
        input,
        tag === ''
          ? 'the tag after ":" is empty'
          : `tag "${tag}" is invalid: a tag is 1 to 128 characters of letters, digits, "_", "." and "-", and cannot start with "." or "-"`,
      );
    }
  }

  const { registry, path } = splitDomain(rest);
  if (!DOMAIN_RE.test(registry)) {
    throw invalid(input, `registry "${registry}" is not a valid host[:port]`);
  }
  for (const component of path.split('/')) checkPathComponent(input, component);
  const fullName = `${registry}/${path}`;
  if (fullName.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(input, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters ("${fullName}" has ${fullName.length})`);
  }

  const defaultTag = options.defaultTag ?? DEFAULT_TAG;
  if (tag === undefined && digest === undefined && defaultTag !== false) tag = defaultTag;
  return new Reference({
    registry,
    repository: path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  });
}

/** Parses a repository name (no tag, no digest allowed), e.g. for `--all-tags` or `--from`. */
export function parseRepositoryName(input: string): Reference {
  const ref = parseReference(input, { defaultTag: false });
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw invalid(input, 'expected a repository name without a tag or digest');
  }
  return ref;
}

/** True when `tag` is a valid tag (`[\w][\w.-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** A copy of `ref` with `tag` (validated) and without its digest. */
export function withTag(ref: ReferenceParts, tag: string): Reference {
  if (!TAG_RE.test(tag)) {
    throw new ImgtoolError('REFERENCE_INVALID', `invalid tag "${tag}": a tag is 1 to 128 characters of letters, digits, "_", "." and "-", and cannot start with "." or "-"`, {
      details: { reference: `${ref.registry}/${ref.repository}` },
    });
  }
  return new Reference({ registry: ref.registry, repository: ref.repository, tag });
}

/** A copy of `ref` pinned to `digest` (validated), keeping its tag. */
export function withDigest(ref: ReferenceParts, digest: string): Reference {
  checkDigest(`${ref.registry}/${ref.repository}@${digest}`, digest);
  return new Reference({ registry: ref.registry, repository: ref.repository, ...(ref.tag === undefined ? {} : { tag: ref.tag }), digest });
}

/**
 * Normalises a registry as a user names it (`index.docker.io`, `https://host:5000/v2/`,
 * `docker.io`) to the form references use (`docker.io`, `host:5000`).
 */
export function normalizeRegistry(server: string): string {
  let host = server.trim().replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '');
  const slash = host.indexOf('/');
  if (slash !== -1) host = host.slice(0, slash);
  if (host === LEGACY_DOCKER_HUB_REGISTRY || host === DOCKER_HUB_API_HOST || host === DOCKER_HUB_REGISTRY) return DOCKER_HUB_REGISTRY;
  return host;
}

/** The host (with port) that serves the Distribution API for `registry`: Docker Hub's is `registry-1.docker.io`. */
export function registryApiHost(registry: string): string {
  return normalizeRegistry(registry) === DOCKER_HUB_REGISTRY ? DOCKER_HUB_API_HOST : registry;
}

/** Splits `host[:port]` (IPv6 hosts in brackets) into its host name and port (if any). */
export function splitHostPort(registry: string): { hostname: string; port?: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(registry);
  if (!m || m[1] === undefined) return { hostname: registry };
  return m[2] === undefined ? { hostname: m[1] } : { hostname: m[1], port: Number(m[2]) };
}

/**
 * True when `registry` (host[:port]) is on the loopback interface: `localhost`, 127.0.0.0/8
 * or `[::1]`. The docker daemon allows plain HTTP to those without configuration.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const { hostname } = splitHostPort(registry);
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '[::1]' || h === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
