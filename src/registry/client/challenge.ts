/**
 * `WWW-Authenticate` parsing (RFC 7235 §4.1, RFC 9110 §11.6.1) for registry challenges.
 *
 * The grammar, in the RFC's words:
 *   WWW-Authenticate = 1#challenge
 *   challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param  = token BWS "=" BWS ( token / quoted-string )
 * Several challenges may share one header, separated by commas, so a bare token that is not
 * followed by "=" starts the next challenge. Parameter names are case-insensitive; values are
 * tokens or quoted strings with backslash escapes. The parser never throws: garbage yields
 * fewer (or no) challenges, so a hostile or broken registry cannot crash a push.
 */

/** One parsed challenge. */
export interface Challenge {
  /** The auth scheme, lower-cased: "basic", "bearer", ... */
  readonly scheme: string;
  /** Parameters with lower-cased names (realm, service, scope, error...). */
  readonly params: Readonly<Record<string, string>>;
  /** A token68 credential hint instead of parameters (rare; e.g. Negotiate). */
  readonly token68?: string;
}

// RFC 9110 tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+$/;
// Characters of an unquoted parameter value (lenient superset of token).
const UNQUOTED_VALUE = /[^\s,"]/;
// Where a parameter name or a token68 may start, read the union of both alphabets, then decide.
const NAME_OR_T68 = /[!#$%&'*+\-.^_`|~0-9A-Za-z/]/;

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): string {
    return this.s[this.pos] ?? '';
  }

  /** Skips optional whitespace (OWS/BWS: SP and HTAB). */
  ws(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  /** Skips whitespace and any run of list separators (the "#" rule allows empty elements). */
  separators(): void {
    for (;;) {
      this.ws();
      if (this.peek() !== ',') return;
      this.pos++;
    }
  }

  /** Reads a run of characters matching `re`. */
  run(re: RegExp): string {
    const start = this.pos;
    while (!this.done && re.test(this.peek())) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** Reads a quoted-string (the opening quote is current); tolerates a missing closing quote. */
  quoted(): string {
    this.pos++; // opening DQUOTE
    let out = '';
    while (!this.done) {
      const c = this.peek();
      this.pos++;
      if (c === '"') return out;
      if (c === '\\' && !this.done) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): the escaped character stands for itself.
        out += this.peek();
        this.pos++;
        continue;
      }
      out += c;
    }
    return out;
  }

  /** Skips to the next comma (error recovery for a malformed element). */
  skipElement(): void {
    while (!this.done && this.peek() !== ',') {
      if (this.peek() === '"') this.quoted();
      else this.pos++;
    }
  }
}

/**
 * Parses one or several `WWW-Authenticate` header values into challenges, in order.
 * Accepts the header as undici returns it (string, or array when repeated).
 */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (typeof header !== 'string') return header.flatMap((h) => parseChallenges(h));
  const sc = new Scanner(header);
  const out: Challenge[] = [];
  sc.separators();
  while (!sc.done) {
    const scheme = sc.run(TCHAR);
    if (scheme === '') {
      // Not a challenge start: skip this element and resynchronise at the next comma.
      sc.skipElement();
      sc.separators();
      continue;
    }
    const params: Record<string, string> = {};
    let token68: string | undefined;
    // auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    const hadSpace = sc.peek() === ' ' || sc.peek() === '\t';
    sc.ws();
    if (hadSpace && !sc.done && sc.peek() !== ',') {
      token68 = readParamsOrToken68(sc, params);
    }
    out.push({ scheme: scheme.toLowerCase(), params, ...(token68 === undefined ? {} : { token68 }) });
    // After the parameters the scanner sits at a comma, the next scheme, or the end.
    sc.separators();
  }
  return out;
}

/**
 * Reads the part of a challenge after its scheme. Returns a token68 when that is what follows;
 * otherwise fills `params` and stops before the token that starts the next challenge.
 */
function readParamsOrToken68(sc: Scanner, params: Record<string, string>): string | undefined {
  let first = true;
  for (;;) {
    sc.ws();
    if (sc.done) return undefined;
    const mark = sc.pos;
    const name = sc.run(NAME_OR_T68);
    if (name === '') {
      sc.skipElement();
    } else {
      sc.ws();
      if (sc.peek() === '=') {
        // Count "=" signs: "name=value" has one; a token68 ends with a run of "=" then "," or end.
        let eq = 0;
        while (sc.s[sc.pos + eq] === '=') eq++;
        const afterEq = sc.pos + eq;
        let k = afterEq;
        while (sc.s[k] === ' ' || sc.s[k] === '\t') k++;
        const next = sc.s[k];
        if (first && (next === undefined || next === ',') && TOKEN68.test(name)) {
          sc.pos = afterEq;
          return name + '='.repeat(eq);
        }
        if (eq === 1) {
          sc.pos++; // "="
          sc.ws();
          // Lenient: an unquoted value runs to the next comma or space, so an unquoted URL
          // (not a token by the RFC, but sent by some servers) survives whole.
          const value = sc.peek() === '"' ? sc.quoted() : sc.run(UNQUOTED_VALUE);
          const key = name.toLowerCase();
          // The first occurrence wins: a parameter repeated later is ignored, not merged.
          if (!(key in params)) params[key] = value;
          sc.ws();
        } else {
          sc.skipElement();
        }
      } else if (first && sc.peek() !== '"' && TOKEN68.test(name) && (sc.done || sc.peek() === ',')) {
        // A lone token after the scheme is a token68 (e.g. "Negotiate abc").
        return name;
      } else {
        // A token not followed by "=": the next challenge's scheme. Rewind so the caller sees it.
        sc.pos = mark;
        return undefined;
      }
    }
    first = false;
    // Parameters are separated by commas; a new challenge also follows a comma.
    sc.ws();
    if (sc.peek() !== ',') {
      if (sc.done) return undefined;
      // Junk between parameters: skip it up to the next comma.
      sc.skipElement();
    }
    while (sc.peek() === ',') {
      sc.pos++;
      sc.ws();
    }
  }
}

/** The first challenge with `scheme` (case-insensitive), if any. */
export function findChallenge(challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  const want = scheme.toLowerCase();
  return challenges.find((c) => c.scheme === want);
}

/**
 * Picks the challenge imgtool answers: Bearer when offered (it carries the realm for tokens),
 * else Basic. Other schemes are not supported by registries in practice.
 */
export function preferredChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return findChallenge(challenges, 'bearer') ?? findChallenge(challenges, 'basic');
}
