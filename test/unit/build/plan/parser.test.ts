import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { isImgtoolError } from '../../../../src/image/errors.js';
import { extractBuilderFlags, heredocContent, parseDockerfile } from '../../../../src/build/plan/parser.js';

const parse = (text: string) => parseDockerfile(text, 'Dockerfile');
const fails = (text: string): { code: string; line: unknown; message: string } => {
  try {
    parse(text);
  } catch (err) {
    if (isImgtoolError(err)) return { code: err.code, line: err.details.line, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
};

describe('parseDockerfile: lines', () => {
  it('joins continuations, drops comments and blank lines inside them, keeps 1-based lines', () => {
    const { nodes } = parse('FROM a\n\n# comment\nRUN echo a \\\n  # inner comment\n\n  b \\\n  c\nCOPY x y\n');
    expect(nodes.map((n) => [n.keyword, n.startLine, n.endLine])).toEqual([
      ['from', 1, 1],
      ['run', 4, 8],
      ['copy', 9, 9],
    ]);
    expect(nodes[1]?.args).toEqual(['echo a   b   c']);
    expect(nodes[1]?.emptyContinuationLine).toBe(true);
    expect(nodes[2]?.emptyContinuationLine).toBe(false);
  });

  it('continuation with white space after the escape character, CRLF endings, a BOM', () => {
    const { nodes } = parse('\uFEFFFROM a\r\nRUN x \\  \r\n y\r\n');
    expect(nodes.map((n) => n.original)).toEqual(['FROM a', 'RUN x  y']);
  });

  it('a continuation at the end of the file ends the instruction', () => {
    const { nodes } = parse('FROM a\nRUN x \\\n');
    expect(nodes[1]?.args).toEqual(['x']);
  });

  it('keywords are case-insensitive; unknown ones are kept and marked', () => {
    const { nodes } = parse('from a AS b\nrun x\nFOO bar\n');
    expect(nodes.map((n) => [n.keyword, n.known])).toEqual([
      ['from', true],
      ['run', true],
      ['foo', false],
    ]);
  });

  it('empty and comment-only files are errors', () => {
    expect(fails('')).toMatchObject({ code: 'DOCKERFILE_INVALID' });
    expect(fails('# just a comment\n\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', message: expect.stringContaining('no instructions') });
  });
});

describe('parseDockerfile: directives', () => {
  it('reads syntax and escape at the top, case-insensitively, with spaces', () => {
    const { directives, nodes } = parse('# syntax = docker/dockerfile:1\n#ESCAPE=`\nFROM a\nRUN x `\n y\n');
    expect(directives).toMatchObject({ escapeChar: '`', syntax: { value: 'docker/dockerfile:1', line: 1 } });
    expect(nodes[1]?.args).toEqual(['x  y']);
  });

  it('stops at the first non-directive line: a blank line, a comment, an unknown directive', () => {
    expect(parse('\n# escape=`\nFROM a\n').directives.escapeChar).toBe('\\');
    expect(parse('# hello\n# escape=`\nFROM a\n').directives.escapeChar).toBe('\\');
    expect(parse('# foo=bar\n# escape=`\nFROM a\n').directives.escapeChar).toBe('\\');
    expect(parse('FROM a\n# escape=`\n').directives.escapeChar).toBe('\\');
  });

  it('rejects a repeated directive and a bad escape token, naming the line', () => {
    expect(fails('# escape=`\n# escape=\\\nFROM a\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2, message: expect.stringMatching(/^Dockerfile:2: only one escape/) });
    expect(fails('# escape=x\nFROM a\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 1 });
  });
});

describe('parseDockerfile: heredocs', () => {
  it('RUN <<EOF and COPY <<EOF: bodies are not instructions; quoted names do not expand', () => {
    const { nodes } = parse('FROM a\nRUN <<EOF\necho $HOME\nFROM nope\nEOF\nCOPY <<"A" <<-B /dst/\nx\nA\n\ty\n\tB\nRUN ok\n');
    expect(nodes.map((n) => [n.keyword, n.startLine, n.endLine])).toEqual([
      ['from', 1, 1],
      ['run', 2, 5],
      ['copy', 6, 10],
      ['run', 11, 11],
    ]);
    expect(nodes[1]?.heredocs).toEqual([{ name: 'EOF', content: 'echo $HOME\nFROM nope\n', expand: true, chomp: false, fd: 0 }]);
    const [a, b] = nodes[2]?.heredocs ?? [];
    expect(a).toMatchObject({ name: 'A', expand: false, content: 'x\n' });
    expect(b).toMatchObject({ name: 'B', expand: true, chomp: true, content: '\ty\n' });
    expect(heredocContent(b!)).toBe('y\n');
  });

  it('a file-descriptor heredoc (2<<EOF) is a heredoc, as in the builder', () => {
    const { nodes } = parse('FROM a\nRUN 2<<EOF cat\nhi\nEOF\n');
    expect(nodes).toHaveLength(2);
    expect(nodes[1]?.heredocs[0]).toMatchObject({ name: 'EOF', fd: 2, content: 'hi\n' });
  });

  it('quoted or glued << is not a heredoc; other instructions never have heredocs', () => {
    const { nodes } = parse('FROM a\nRUN echo "<<EOF"\nRUN echo a<<EOF\nENV A=<<EOF\n');
    expect(nodes.map((n) => n.heredocs.length)).toEqual([0, 0, 0, 0]);
  });

  it('an unterminated heredoc is an error at its instruction line', () => {
    expect(fails('FROM a\nRUN <<EOF\nnever ends\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2, message: expect.stringContaining('unterminated heredoc') });
  });
});

describe('parseDockerfile: argument forms', () => {
  it('JSON (exec) form vs shell form, as the builder decides', () => {
    const { nodes } = parse('FROM a\nCMD ["a", "b c"]\nCMD [not json]\nCOPY ["a b", "c"]\nCOPY a  b\nENTRYPOINT ["x",\n');
    expect(nodes.slice(1).map((n) => [n.json, n.args])).toEqual([
      [true, ['a', 'b c']],
      [false, ['[not json]']],
      [true, ['a b', 'c']],
      [false, ['a', 'b']],
      [false, ['["x",']],
    ]);
  });

  it('a JSON array with a non-string is an error', () => {
    expect(fails('FROM a\nCMD ["a", 1]\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
  });

  it('ENV/LABEL: key=value pairs, or the legacy key value form', () => {
    const { nodes } = parse('FROM a\nENV A=1 B="2 3"\nENV C  x y z\nLABEL "k"=v\n');
    expect(nodes[1]).toMatchObject({ args: ['A', '1', 'B', '"2 3"'] });
    expect(nodes[2]).toMatchObject({ args: ['C', 'x y z'], legacyKeyValue: true });
    expect(nodes[3]?.args).toEqual(['"k"', 'v']);
    expect(fails('FROM a\nENV A=1 B\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nENV A\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2, message: expect.stringContaining('two arguments') });
  });

  it('ONBUILD and HEALTHCHECK carry their sub-instruction', () => {
    const { nodes } = parse('FROM a\nONBUILD COPY --from=x . /app\nHEALTHCHECK --interval=5s CMD ["true"]\n');
    expect(nodes[1]?.sub).toMatchObject({ keyword: 'copy', flags: ['--from=x'], args: ['.', '/app'] });
    expect(nodes[2]).toMatchObject({ healthType: 'CMD', json: true, args: ['true'], flags: ['--interval=5s'] });
  });
});

describe('extractBuilderFlags', () => {
  it('takes leading --flags, removes quotes in them, stops at the first other word or --', () => {
    expect(extractBuilderFlags('--from=a --chown="u g" src dst')).toEqual({ flags: ['--from=a', '--chown=u g'], rest: 'src dst' });
    expect(extractBuilderFlags('-- --not-a-flag x')).toEqual({ flags: [], rest: ' --not-a-flag x' });
    expect(extractBuilderFlags('--link')).toEqual({ flags: ['--link'], rest: '' });
    expect(extractBuilderFlags('src --from=x')).toEqual({ flags: [], rest: 'src --from=x' });
    expect(extractBuilderFlags('--mount=type=bind,source=a\\ b x')).toEqual({ flags: ['--mount=type=bind,source=a b'], rest: 'x' });
  });
});

describe('agrees with dockerfile-ast where both follow the builder', () => {
  it('same instructions, keywords and start lines on an ordinary multi-stage Dockerfile', () => {
    const text = [
      '# syntax=docker/dockerfile:1',
      'ARG GO=1.22',
      'FROM golang:${GO} AS build',
      'WORKDIR /src',
      '# deps first',
      'COPY go.mod go.sum ./',
      'RUN --mount=type=cache,target=/root/.cache/go-build \\',
      '    go mod download && \\',
      '    # a comment inside',
      '    go build -o /out/app .',
      'RUN <<EOF',
      'echo hi',
      'EOF',
      'FROM scratch',
      'COPY --from=build /out/app /app',
      'ENTRYPOINT ["/app"]',
      '',
    ].join('\n');
    const ours = parse(text).nodes.map((n) => [n.keyword.toUpperCase(), n.startLine]);
    const theirs = DockerfileParser.parse(text)
      .getInstructions()
      .map((i) => [i.getKeyword(), i.getRange().start.line + 1]);
    expect(ours).toEqual(theirs);
  });
});
