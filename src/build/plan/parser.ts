/**
 * Dockerfile text → instruction nodes, following the builder's parser (BuildKit
 * `frontend/dockerfile/parser`): parser directives at the top, comments, line continuations with
 * the escape character, heredocs on RUN/COPY/ADD, builder flags, and each instruction's argument
 * form (JSON array or shell form, `name=value` pairs...).
 *
 * Why not only dockerfile-ast: it is an editor's parser and is lenient where the builder is not
 * (an unterminated heredoc is accepted, `2<<EOF` is not seen as a heredoc so its body turns into
 * instructions, a duplicate or late `# escape=` is honoured). imgtool must predict what the
 * builder will do, so the line structure is rebuilt here with the builder's rules; dockerfile-ast
 * supplies the instruction keyword table (see instructionKeywords) and is cross-checked in tests.
 */
import { Keyword } from 'dockerfile-ast';
import { dockerfileError } from './errors.js';
import { parseWords, processWord } from './shell-lex.js';

/** A heredoc attached to an instruction. */
export interface ParsedHeredoc {
  readonly name: string;
  /** Raw content, each line ending in `\n` (tabs not yet stripped for `<<-`). */
  readonly content: string;
  /** False when the delimiter was quoted: the builder does not expand variables in it. */
  readonly expand: boolean;
  /** `<<-`: leading tabs are stripped from the content lines. */
  readonly chomp: boolean;
  /** `2<<EOF` form: the file descriptor (0 when absent). */
  readonly fd: number;
}

/** One instruction as the parser sees it. */
export interface ParsedNode {
  /** Lower-case keyword as written (`run`, `copy`, `foo` for an unknown one). */
  readonly keyword: string;
  /** Whether the builder knows the keyword. */
  readonly known: boolean;
  /** The logical line (continuations joined, comments dropped), trimmed. */
  readonly original: string;
  readonly startLine: number;
  readonly endLine: number;
  /** Builder flags as written, e.g. `--from=build`. */
  readonly flags: readonly string[];
  /** Arguments in the instruction's parse form (see parseArguments). */
  readonly args: readonly string[];
  /** True for the JSON-array (exec) form. */
  readonly json: boolean;
  readonly heredocs: readonly ParsedHeredoc[];
  /** ONBUILD's trigger, HEALTHCHECK's CMD. */
  readonly sub?: ParsedNode;
  /** HEALTHCHECK's type (`CMD`/`NONE`). */
  readonly healthType?: string;
  /** ENV/LABEL written in the legacy `KEY value` form. */
  readonly legacyKeyValue?: boolean;
  /** A continuation line was empty (the builder warns; it will become an error). */
  readonly emptyContinuationLine: boolean;
}

/** The parser directives found at the top of the file. */
export interface ParsedDirectives {
  readonly escapeChar: string;
  readonly syntax?: { readonly value: string; readonly line: number };
  readonly check?: { readonly value: string; readonly line: number };
}

/** The parsed file. */
export interface ParsedDockerfile {
  readonly directives: ParsedDirectives;
  readonly nodes: readonly ParsedNode[];
}

/** Instruction keywords the builder knows, lower-case (dockerfile-ast's table). */
export const instructionKeywords: ReadonlySet<string> = new Set(Object.values(Keyword).map((k) => k.toLowerCase()));

const DIRECTIVE_RE = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;
const HEREDOC_KEYWORDS = new Set(['run', 'copy', 'add']);

const trimLeft = (s: string): string => s.replace(/^[ \t\r\n\v\f]+/, '');
const isComment = (line: string): boolean => trimLeft(line).startsWith('#');

/** Parses a Dockerfile. Throws DOCKERFILE_SYNTAX naming `file:line` on what the builder rejects. */
export function parseDockerfile(text: string, file: string): ParsedDockerfile {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  // Go's line scanner splits on \n and drops one trailing \r; a final newline adds no line.
  const lines = source.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '' && source.endsWith('\n')) lines.pop();

  let escapeChar = '\\';
  let syntax: ParsedDirectives['syntax'];
  let check: ParsedDirectives['check'];
  let directivesDone = false;
  const seen = new Set<string>();
  const possibleDirective = (line: string, lineNo: number): void => {
    if (directivesDone) return;
    const m = DIRECTIVE_RE.exec(line);
    const name = m?.[1]?.toLowerCase();
    if (!m || name === undefined || !KNOWN_DIRECTIVES.has(name)) {
      directivesDone = true;
      return;
    }
    if (seen.has(name)) throw dockerfileError('DOCKERFILE_SYNTAX', file, lineNo, `only one ${name} parser directive can be used`);
    seen.add(name);
    const value = m[2] ?? '';
    if (name === 'escape') {
      if (value !== '`' && value !== '\\') {
        throw dockerfileError('DOCKERFILE_SYNTAX', file, lineNo, `invalid escape token '${value}' does not match \` or \\`);
      }
      escapeChar = value;
    } else if (name === 'syntax') {
      syntax = { value, line: lineNo };
    } else {
      check = { value, line: lineNo };
    }
  };
  // The escape character at the end of a line (white space after it allowed) continues the line.
  const continuation = (): RegExp => new RegExp(`${escapeChar === '\\' ? '\\\\' : '`'}[ \\t]*$`);

  const nodes: ParsedNode[] = [];
  let i = 0;
  while (i < lines.length) {
    const startLine = i + 1;
    const first = trimLeft(lines[i] ?? '');
    possibleDirective(first, startLine);
    i++;
    const token = isComment(first) ? '' : first;
    const cont = continuation();
    let line = token.replace(cont, '');
    let ended = !cont.test(token);
    if (ended && line === '') continue;
    let emptyContinuationLine = false;
    while (!ended && i < lines.length) {
      const raw = lines[i] ?? '';
      i++;
      if (isComment(raw)) continue;
      if (trimLeft(raw) === '') {
        emptyContinuationLine = true;
        continue;
      }
      ended = !cont.test(raw);
      line += raw.replace(cont, '');
    }
    const node = nodeFromLine(line, escapeChar, file, startLine);
    const heredocs: ParsedHeredoc[] = [];
    if (HEREDOC_KEYWORDS.has(node.keyword) && line.includes('<<')) {
      for (const doc of heredocsFromLine(line, file, startLine)) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const raw = lines[i] ?? '';
          i++;
          const candidate = doc.chomp ? raw.replace(/^\t+/, '') : raw;
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          content += `${raw}\n`;
        }
        if (!terminated) {
          throw dockerfileError('DOCKERFILE_SYNTAX', file, startLine, `unterminated heredoc <<${doc.name} (no line "${doc.name}" ends it)`, {
            hint: `end the heredoc with a line holding only ${doc.name}`,
          });
        }
        heredocs.push({ ...doc, content });
      }
    }
    // i is one past the last line consumed, which 1-based is i itself.
    nodes.push({ ...node, startLine, endLine: i, heredocs, emptyContinuationLine });
  }
  if (nodes.length === 0) {
    throw dockerfileError('DOCKERFILE_INVALID', file, undefined, 'the Dockerfile has no instructions', {
      hint: 'a Dockerfile starts with FROM <image> (ARG lines may come before it)',
    });
  }
  return {
    directives: { escapeChar, ...(syntax ? { syntax } : {}), ...(check ? { check } : {}) },
    nodes,
  };
}

type NodeCore = Omit<ParsedNode, 'startLine' | 'endLine' | 'heredocs' | 'emptyContinuationLine'>;

function nodeFromLine(line: string, escapeChar: string, file: string, lineNo: number): NodeCore {
  const trimmed = line.trim();
  const m = /^(\S+)(?:[ \t\v\f\r\n]+([\s\S]*))?$/.exec(trimmed);
  const word = m?.[1] ?? '';
  const keyword = word.toLowerCase();
  const restRaw = m?.[2] ?? '';
  const { rest, flags } = restRaw === '' ? { rest: '', flags: [] as string[] } : extractBuilderFlags(restRaw);
  const known = instructionKeywords.has(keyword);
  const base = { keyword, known, original: trimmed, flags };
  if (!known) return { ...base, args: rest === '' ? [] : rest.split(/[ \t\v\f\r]+/), json: false };
  const parsed = parseArguments(keyword, rest.trim(), escapeChar, file, lineNo);
  return { ...base, ...parsed };
}

interface ParsedArguments {
  args: string[];
  json: boolean;
  sub?: ParsedNode;
  healthType?: string;
  legacyKeyValue?: boolean;
}

function parseArguments(keyword: string, rest: string, escapeChar: string, file: string, lineNo: number): ParsedArguments {
  switch (keyword) {
    case 'add':
    case 'copy':
    case 'volume':
      return maybeJson(rest, file, lineNo) ?? { args: whitespaceDelimited(rest), json: false };
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return maybeJson(rest, file, lineNo) ?? { args: rest === '' ? [] : [rest], json: false };
    case 'arg':
      return { args: parseWords(rest, escapeChar), json: false };
    case 'env':
    case 'label':
      return nameVal(rest, keyword.toUpperCase(), escapeChar, file, lineNo);
    case 'expose':
    case 'from':
      return { args: whitespaceDelimited(rest), json: false };
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return { args: rest === '' ? [] : [rest], json: false };
    case 'healthcheck': {
      const hm = /^(\S+)\s*([\s\S]*)$/.exec(rest);
      if (!hm) return { args: [], json: false };
      const cmd = maybeJson(hm[2] ?? '', file, lineNo) ?? { args: hm[2] ? [hm[2]] : [], json: false };
      return { args: cmd.args, json: cmd.json, healthType: hm[1] ?? '' };
    }
    case 'onbuild': {
      if (rest === '') return { args: [], json: false };
      const sub = nodeFromLine(rest, escapeChar, file, lineNo);
      return { args: [rest], json: false, sub: { ...sub, startLine: lineNo, endLine: lineNo, heredocs: [], emptyContinuationLine: false } };
    }
    default:
      return { args: [], json: false };
  }
}

const whitespaceDelimited = (rest: string): string[] => (rest === '' ? [] : rest.split(/[ \t\v\f\r]+/));

// The JSON (exec) form: a JSON array of strings. Anything that is not valid JSON is shell form;
// a valid array holding a non-string is an error, as in the builder.
function maybeJson(rest: string, file: string, lineNo: number): ParsedArguments | undefined {
  const t = trimLeft(rest);
  if (!t.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v): v is string => typeof v === 'string')) {
    throw dockerfileError('DOCKERFILE_SYNTAX', file, lineNo, 'when using JSON array syntax, arrays must be comprised of strings only');
  }
  return { args: value, json: true };
}

// ENV and LABEL: `KEY value` (legacy, one pair) or `KEY=value ...`.
function nameVal(rest: string, key: string, escapeChar: string, file: string, lineNo: number): ParsedArguments {
  const words = parseWords(rest, escapeChar);
  if (words.length === 0) return { args: [], json: false };
  if (!(words[0] ?? '').includes('=')) {
    const parts = rest.split(/[ \t\v\f\r]+/);
    if (parts.length < 2) throw dockerfileError('DOCKERFILE_SYNTAX', file, lineNo, `${key} must have two arguments`);
    const name = parts[0] ?? '';
    const value = rest.slice(rest.indexOf(name) + name.length).replace(/^[ \t\v\f\r]+/, '');
    return { args: [name, value], json: false, legacyKeyValue: true };
  }
  const args: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw dockerfileError('DOCKERFILE_SYNTAX', file, lineNo, `syntax error: can't find = in ${JSON.stringify(word)}; must be of the form name=value`);
    }
    args.push(word.slice(0, eq), word.slice(eq + 1));
  }
  return { args, json: false };
}

/**
 * Splits leading `--flag[=value]` words off an instruction's arguments, as the builder does
 * (quotes inside a flag word are removed, `\` escapes one character, `--` ends the flags).
 */
export function extractBuilderFlags(line: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  const chars = Array.from(line);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  let offset = 0; // UTF-16 offset of chars[pos]
  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let c = atEnd ? '' : (chars[pos] as string);
    if (phase === 'spaces') {
      if (atEnd) break;
      if (/\s/u.test(c)) {
        offset += c.length;
        continue;
      }
      if (c !== '-' || chars[pos + 1] !== '-') return { rest: line.slice(offset), flags };
      phase = 'word';
    }
    if (atEnd) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (/\s/u.test(c)) {
        phase = 'spaces';
        if (word === '--') return { rest: line.slice(offset), flags };
        if (blankOK || word.length > 0) flags.push(word);
        word = '';
        blankOK = false;
        offset += c.length;
        continue;
      }
      if (c === "'" || c === '"') {
        quote = c;
        blankOK = true;
        phase = 'quote';
        offset += c.length;
        continue;
      }
      if (c === '\\') {
        if (pos + 1 === chars.length) {
          offset += c.length;
          continue;
        }
        offset += c.length;
        pos++;
        c = chars[pos] as string;
      }
      word += c;
      offset += c.length;
      continue;
    }
    // quote
    if (c === quote) {
      phase = 'word';
      offset += c.length;
      continue;
    }
    if (c === '\\') {
      if (pos + 1 === chars.length) {
        phase = 'word';
        offset += c.length;
        continue;
      }
      offset += c.length;
      pos++;
      c = chars[pos] as string;
    }
    word += c;
    offset += c.length;
  }
  return { rest: '', flags };
}

// Heredoc names on an instruction line: words (quotes and escapes kept) like `<<EOF`, `<<-"EOF"`,
// `2<<EOF`. A quoted name turns expansion off.
function heredocsFromLine(line: string, file: string, lineNo: number): Omit<ParsedHeredoc, 'content'>[] {
  const none = (): undefined => undefined;
  let words: string[];
  try {
    words = processWord(line, none, { escapeChar: '\\', rawQuotes: true, rawEscapes: true }).words;
  } catch {
    // The builder ignores lexing errors here; the instruction's own parse reports them.
    return [];
  }
  const docs: Omit<ParsedHeredoc, 'content'>[] = [];
  for (const word of words) {
    const doc = parseHeredocWord(word, file, lineNo);
    if (doc) docs.push(doc);
  }
  return docs;
}

/** Recognises one heredoc word (`<<EOF`, `<<-'EOF'`, `3<<EOF`); undefined when it is not one. */
export function parseHeredocWord(word: string, file: string, lineNo: number): Omit<ParsedHeredoc, 'content'> | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m) return undefined;
  const rest = m[3] ?? '';
  if (rest === '') return undefined;
  const none = (): undefined => undefined;
  let plain: string[];
  let raw: string[];
  try {
    plain = processWord(rest, none, { escapeChar: '\\', skipUnsetEnv: true }).words;
    raw = processWord(rest, none, { escapeChar: '\\', skipUnsetEnv: true, rawQuotes: true }).words;
  } catch (err) {
    throw dockerfileError('DOCKERFILE_SYNTAX', file, lineNo, `invalid heredoc ${word}: ${(err as Error).message}`);
  }
  if (plain.length !== 1) return undefined;
  const name = plain[0] ?? '';
  const quotes = (s: string): number => (s.match(/['"]/g) ?? []).length;
  return { name, expand: quotes(name) === quotes(raw[0] ?? ''), chomp: m[2] === '-', fd: m[1] ? Number(m[1]) : 0 };
}

/** The content of a heredoc as the builder uses it (`<<-` strips leading tabs of each line). */
export function heredocContent(doc: ParsedHeredoc): string {
  return doc.chomp ? doc.content.replace(/^\t+/gm, '') : doc.content;
}
