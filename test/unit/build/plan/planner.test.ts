import { describe, expect, it } from 'vitest';
import { isImgtoolError } from '../../../../src/image/errors.js';
import { planBuild, type BuildPlan, type PlanBuildOptions } from '../../../../src/build/plan/index.js';

const plan = (text: string, opts: Partial<PlanBuildOptions> = {}): BuildPlan =>
  planBuild({ dockerfileText: text, dockerfilePath: 'Dockerfile', ...opts });
const fails = (text: string, opts: Partial<PlanBuildOptions> = {}) => {
  try {
    plan(text, opts);
  } catch (err) {
    if (isImgtoolError(err)) return { code: err.code, line: err.details.line, file: err.details.file, message: err.message, hint: err.hint, details: err.details };
    throw err;
  }
  throw new Error('expected planBuild to throw');
};
const inst = (p: BuildPlan, line: number) => p.stages.flatMap((s) => s.instructions).find((i) => i.line === line);

describe('stages and bases', () => {
  it('names, indexes, bases (image or earlier stage), platform', () => {
    const p = plan('FROM --platform=linux/arm64 alpine:3.19 AS Build\nRUN x\nFROM build AS test\nFROM scratch\nCOPY --from=build /a /a\n');
    expect(p.stages.map((s) => [s.index, s.name, s.base, s.baseIsStage, s.baseStage, s.platform, s.line])).toEqual([
      [0, 'build', 'alpine:3.19', false, undefined, 'linux/arm64', 1],
      [1, 'test', 'build', true, 0, undefined, 3],
      [2, undefined, 'scratch', false, undefined, undefined, 4],
    ]);
    expect(p.target).toEqual({ index: 2 });
    expect(p.allStages).toEqual([0, 1, 2]);
    expect(p.externalImages).toEqual(['alpine:3.19']);
  });

  it('FROM a later or the same name is an image, as in the builder', () => {
    const p = plan('FROM x AS x\nFROM y AS y\n');
    expect(p.stages[0]).toMatchObject({ base: 'x', baseIsStage: false });
  });

  it('global ARGs expand in FROM, with --build-arg overrides; platform ARGs are automatic', () => {
    const p = plan('ARG REG=docker.io\nARG TAG=3.19\nFROM --platform=$BUILDPLATFORM $REG/alpine:$TAG\nFROM ${IMG:-busybox}:1 AS two\n', {
      buildArgs: { TAG: '3.20' },
      platform: 'linux/arm64',
      buildPlatform: 'linux/amd64',
    });
    expect(p.stages.map((s) => [s.base, s.platform])).toEqual([
      ['docker.io/alpine:3.20', 'linux/amd64'],
      ['busybox:1', undefined],
    ]);
  });

  it('a base using a platform ARG with no platform known is kept as written, not rejected', () => {
    const p = plan('FROM alpine:3-$TARGETARCH\n');
    expect(p.stages[0]?.base).toBe('alpine:3-${TARGETARCH}');
    expect(plan('FROM alpine:3-$TARGETARCH\n', { buildPlatform: 'linux/amd64' }).stages[0]?.base).toBe('alpine:3-amd64');
  });

  it('errors: FROM with two words, bad stage names, duplicates, blank base', () => {
    expect(fails('FROM a b\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 1 });
    expect(fails('FROM a AS 1x\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 1 });
    expect(fails('FROM a AS x\nFROM b AS X\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 2, message: expect.stringContaining('duplicate stage name "x"') });
    expect(fails('ARG B\nFROM $B\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 2, message: expect.stringContaining('should not be blank') });
    expect(fails('FROM UPPER/Case\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 1 });
  });

  it('errors: no FROM, instructions before FROM, empty file', () => {
    expect(fails('ARG A=1\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', message: expect.stringContaining('no FROM') });
    expect(fails('RUN x\nFROM a\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 1 });
    expect(fails('   \n')).toMatchObject({ code: 'DOCKERFILE_INVALID', file: 'Dockerfile' });
  });
});

describe('ARG and ENV scoping', () => {
  const args = (p: BuildPlan, line: number) => inst(p, line)?.args;

  it('a global ARG must be re-declared in the stage; build args override defaults', () => {
    const p = plan('ARG V=1\nARG W=2\nFROM a\nLABEL v=$V\nARG V\nARG W=stage\nLABEL v=$V w=$W\n', { buildArgs: { W: 'cli' } });
    expect(args(p, 4)).toEqual(['v=']);
    expect(args(p, 5)).toEqual(['V=1']);
    expect(args(p, 6)).toEqual(['W=cli']);
    expect(args(p, 7)).toEqual(['v=1', 'w=cli']);
  });

  it('ENV feeds later instructions; pairs of one ENV expand with the scope before it', () => {
    const p = plan('FROM a\nENV A=1\nENV A=2 B=$A\nWORKDIR /x/$A/$B\n');
    expect(args(p, 3)).toEqual(['A=2', 'B=1']);
    expect(args(p, 4)).toEqual(['/x/2/1']);
  });

  it('an ARG without value and without --build-arg is unset; undefined build args do not count', () => {
    const p = plan('FROM a\nARG X\nARG Y=dflt\nLABEL x=${X:-unset} y=$Y\n', { buildArgs: { Y: undefined } });
    expect(args(p, 4)).toEqual(['x=unset', 'y=dflt']);
  });

  it('a child stage inherits the parent stage\'s ARG and ENV values (BuildKit)', () => {
    const p = plan('FROM a AS p\nARG PA=1\nENV PE=2\nFROM p\nLABEL x=$PA$PE\n');
    expect(args(p, 5)).toEqual(['x=12']);
  });

  it('automatic platform ARGs need a declaration in a stage', () => {
    const p = plan('FROM a\nLABEL before=$TARGETARCH\nARG TARGETARCH\nARG TARGETPLATFORM\nARG TARGETVARIANT\nARG BUILDOS\nLABEL a=$TARGETARCH p=$TARGETPLATFORM v=$TARGETVARIANT b=$BUILDOS\n', {
      platform: 'linux/arm/v6',
      buildPlatform: 'linux/amd64',
    });
    expect(args(p, 2)).toEqual(['before=']);
    expect(args(p, 7)).toEqual(['a=arm', 'p=linux/arm/v6', 'v=v6', 'b=linux']);
    expect(args(plan('FROM a\nARG TARGETPLATFORM\nLABEL p=$TARGETPLATFORM\n', { buildPlatform: 'linux/aarch64' }), 3)).toEqual(['p=linux/arm64']);
  });

  it('base image ENV feeds expansion when given', () => {
    const p = plan('FROM golang:1.22\nWORKDIR $GOPATH/src\n', { baseImageEnv: { 'golang:1.22': ['GOPATH=/go', 'PATH=/usr/bin'] } });
    expect(args(p, 2)).toEqual(['/go/src']);
  });

  it('${X:?} on an unset ARG stops the plan, naming the line and the variable', () => {
    const e = fails('FROM a\nARG VERSION\nRUN true\nLABEL v="${VERSION:?set VERSION}"\n');
    expect(e).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 4, message: expect.stringMatching(/^Dockerfile:4: .*VERSION.*set VERSION/) });
    expect(e.hint).toContain('--build-arg VERSION=');
    expect(plan('FROM a\nARG VERSION\nLABEL v=${VERSION:?}\n', { buildArgs: { VERSION: '1' } }).stages[0]?.instructions[2]?.args).toEqual(['v=1']);
    expect(fails('ARG B="${NOPE:?no base}"\nFROM a\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 1 });
    expect(fails('ARG B=${NOPE:?no base}\nFROM a\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 1, message: expect.stringContaining("missing '}'") });
  });

  it('${X:?} on a name only the unknown base image could set is not an error', () => {
    const p = plan('FROM a\nWORKDIR ${HOME:?}/app\n');
    expect(inst(p, 2)?.args).toEqual(['${HOME}/app']);
  });

  it('syntax errors in expansion are DOCKERFILE_SYNTAX at the line', () => {
    expect(fails('FROM a\nENV A=1\nLABEL x="unterminated\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 3 });
    expect(fails('FROM a\nWORKDIR ${}\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
  });

  it('unused build args are reported (proxy and BUILDKIT_ ones are predefined)', () => {
    const p = plan('ARG G\nFROM a\nARG S\n', { buildArgs: { G: '1', S: '2', NOPE: '3', HTTP_PROXY: 'x', BUILDKIT_INLINE_CACHE: '1' } });
    expect(p.unusedBuildArgs).toEqual(['NOPE']);
  });
});

describe('--target pruning', () => {
  const text = [
    'FROM a AS base', // 0
    'FROM base AS deps', // 1
    'FROM b AS tools', // 2
    'FROM base AS build', // 3
    'COPY --from=deps /x /x',
    'COPY --from=2 /t /t',
    'RUN --mount=type=bind,from=cache,target=/c true',
    'FROM c AS cache', // 4
    'FROM base AS test', // 5
    'ARG NEED',
    'LABEL x=${NEED:?}',
    'FROM scratch AS final', // 6
    'COPY --from=build /out /out',
    '',
  ].join('\n');

  it('the last stage by default; stages reached through FROM, COPY --from=name|index, RUN --mount from', () => {
    const p = plan(text);
    expect(p.target).toEqual({ index: 6, name: 'final' });
    expect(p.neededStages).toEqual([0, 1, 2, 3, 4, 6]);
    expect(p.stages.map((s) => s.needed)).toEqual([true, true, true, true, true, false, true]);
    expect(p.allStages).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(p.externalImages).toEqual(['a', 'b', 'c']);
  });

  it('--target picks a stage (case-insensitive) and skips the rest, errors in skipped stages do not matter', () => {
    const p = plan(text, { target: 'DEPS' });
    expect(p.target).toEqual({ index: 1, name: 'deps' });
    expect(p.neededStages).toEqual([0, 1]);
    expect(p.externalImages).toEqual(['a']);
  });

  it('an error in a needed stage stops the plan', () => {
    expect(fails(text, { target: 'test' })).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 11 });
  });

  it('unknown --target names the stages', () => {
    const e = fails(text, { target: 'biuld' });
    expect(e).toMatchObject({ code: 'DOCKERFILE_INVALID', file: 'Dockerfile' });
    expect(e.message).toContain('target stage "biuld" could not be found; stages: base, deps, tools, build, cache, test, final');
    expect(e.hint).toContain('did you mean "build"');
  });

  it('COPY --from: a bad index, a typo of a stage name, an invalid reference are errors at the line', () => {
    expect(fails('FROM a AS one\nFROM b\nCOPY --from=5 /x /x\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 3, message: expect.stringContaining('invalid stage index 5') });
    const typo = fails('FROM a AS builder\nFROM b\nCOPY --from=buidler /x /x\n');
    expect(typo).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 3, message: expect.stringContaining('stages: builder') });
    expect(typo.hint).toContain('buidler:latest');
    expect(fails('FROM a AS one\nCOPY --from=Not_A/Ref! /x /x\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 2 });
    expect(fails('ARG S=one\nFROM a AS one\nFROM b\nCOPY --from=$S /x /x\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 4, message: expect.stringContaining('not supported for --from') });
  });

  it('COPY --from an image is an external image', () => {
    const p = plan('FROM a AS one\nFROM b\nCOPY --from=busybox:1.36 /bin/sh /sh\nRUN --mount=from=alpine:3,target=/a true\n');
    expect(p.externalImages).toEqual(['b', 'busybox:1.36', 'alpine:3']);
    expect(inst(p, 3)?.copy).toMatchObject({ from: 'busybox:1.36', fromImage: 'busybox:1.36', sources: [{ kind: 'image', path: 'bin/sh' }] });
  });

  it('circular COPY --from is an error', () => {
    expect(fails('FROM a AS x\nCOPY --from=y /a /a\nFROM b AS y\nCOPY --from=x /b /b\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', message: expect.stringContaining('circular dependency') });
    expect(fails('FROM a\nCOPY --from=0 /a /a\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 2 });
  });
});

describe('COPY/ADD sources and context reads', () => {
  it('sources are expanded and cleaned; destination, chown, chmod, link, parents, excludes', () => {
    const p = plan('FROM a\nARG D=src\nCOPY --chown=${U:-1000}:1000 --chmod=0755 --link --exclude=*.md ./$D/../$D/ /app/\nCOPY --parents a/./b/*.js /x/\n');
    const c = inst(p, 3)?.copy;
    expect(c).toMatchObject({ sources: [{ kind: 'context', path: 'src' }], dest: '/app/', chown: '1000:1000', chmod: '0755', link: true, parents: false, excludes: ['*.md'] });
    expect(inst(p, 4)?.copy).toMatchObject({ parents: true, sources: [{ kind: 'context', path: 'a/b/*.js' }] });
    expect(p.contextReads).toEqual([
      { line: 3, instruction: 'COPY', sources: ['src'], excludes: ['*.md'] },
      { line: 4, instruction: 'COPY', sources: ['a/b/*.js'] },
    ]);
    expect(inst(p, 3)).toMatchObject({ createsLayer: true, layer: 'filesystem' });
  });

  it('JSON form sources (spaces), heredoc sources, ADD URLs and git are not context reads', () => {
    const p = plan('FROM a\nCOPY ["my file", "/dst/"]\nCOPY <<EOF /etc/x\nhello\nEOF\nADD https://example.com/a.tgz git@github.com:o/r.git https://github.com/o/r.git#main local.txt /d/\n');
    expect(inst(p, 2)?.copy?.sources).toEqual([{ kind: 'context', path: 'my file' }]);
    expect(inst(p, 3)?.copy?.sources).toEqual([{ kind: 'heredoc', path: 'EOF' }]);
    expect(inst(p, 3)?.heredocs).toEqual([{ name: 'EOF', expand: true, bytes: 6 }]);
    expect(inst(p, 6)?.copy?.sources.map((s) => s.kind)).toEqual(['url', 'git', 'git', 'context']);
    expect(p.contextReads.map((r) => [r.line, r.sources])).toEqual([
      [2, ['my file']],
      [6, ['local.txt']],
    ]);
  });

  it('COPY from a URL is an error; COPY needs two arguments', () => {
    expect(fails('FROM a\nCOPY https://x/y /y\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 2 });
    expect(fails('FROM a\nCOPY onlyone\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nCOPY <<EOF\nx\nEOF\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
  });

  it('only needed stages contribute context reads', () => {
    const p = plan('FROM a AS one\nCOPY one.txt /\nFROM b AS two\nCOPY two.txt /\n', { target: 'one' });
    expect(p.contextReads.map((r) => r.sources)).toEqual([['one.txt']]);
  });

  it('COPY . reads the whole context', () => {
    const p = plan('FROM a\nCOPY . /app\n');
    expect(p.readsWholeContext).toEqual({ reason: 'COPY . reads the whole context', line: 2 });
  });

  it('RUN --mount=type=bind without from reads the context (default: all of it)', () => {
    const p = plan('FROM a AS s\nFROM b\nRUN --mount=type=bind,source=go.mod,target=/m --mount=type=cache,target=/c --mount=type=secret,id=t --mount=type=bind,from=s,target=/s true\n');
    expect(p.contextReads).toEqual([{ line: 3, instruction: 'RUN --mount', sources: ['go.mod'] }]);
    expect(p.readsWholeContext).toBeUndefined();
    expect(inst(p, 3)?.mounts?.map((m) => [m.type, m.readsContext, m.fromStage])).toEqual([
      ['bind', true, undefined],
      ['cache', false, undefined],
      ['secret', false, undefined],
      ['bind', false, 0],
    ]);
    const all = plan('FROM a\nRUN --mount=target=/src make\n');
    expect(all.contextReads).toEqual([{ line: 2, instruction: 'RUN --mount', sources: ['.'] }]);
    expect(all.readsWholeContext?.line).toBe(2);
  });

  it('RUN --mount errors: bad type, from with a variable, missing target', () => {
    expect(fails('FROM a\nRUN --mount=type=nope,target=/x true\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 2 });
    expect(fails('FROM a\nRUN --mount=from=$X,target=/x true\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 2 });
    expect(fails('FROM a\nRUN --mount=type=bind true\n')).toMatchObject({ code: 'DOCKERFILE_INVALID', line: 2 });
  });

  it('a source whose value is not known makes the plan read the whole context, saying why', () => {
    const p = plan('FROM a\nARG TARGETARCH\nCOPY bin/$TARGETARCH/app /app\n');
    expect(p.readsWholeContext).toMatchObject({ line: 3, reason: expect.stringContaining('$TARGETARCH') });
    const known = plan('FROM a\nARG TARGETARCH\nCOPY bin/$TARGETARCH/app /app\n', { platform: 'linux/arm64' });
    expect(known.readsWholeContext).toBeUndefined();
    expect(known.contextReads[0]?.sources).toEqual(['bin/arm64/app']);
    const fromBase = plan('FROM a\nCOPY $APPDIR/x /x\n');
    expect(fromBase.readsWholeContext?.reason).toContain('$APPDIR');
    expect(plan('FROM scratch\nCOPY x$APPDIR /x\n').readsWholeContext).toBeUndefined();
  });
});

describe('instructions: flags, arguments, layers', () => {
  it('unknown and malformed flags are errors at the line', () => {
    expect(fails('FROM a\nCOPY --form=x a b\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2, message: expect.stringContaining('unknown flag: --form') });
    expect(fails('FROM a\nCOPY --from a b\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2, message: expect.stringContaining('missing a value') });
    expect(fails('FROM a\nCOPY --link=maybe a b\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nWORKDIR --x=1 /a\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nCOPY --chown=1 --chown=2 a b\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2, message: expect.stringContaining('duplicate flag') });
  });

  it('argument counts and forms the builder checks', () => {
    expect(fails('FROM a\nWORKDIR\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nSHELL /bin/bash -c\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nHEALTHCHECK CMDX true\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nONBUILD FROM b\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nONBUILD ONBUILD RUN x\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nRUN\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
    expect(fails('FROM a\nENV =x\n')).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2 });
  });

  it('layers: RUN/COPY/ADD filesystem, WORKDIR conditional, the rest none', () => {
    const p = plan('FROM a\nRUN x\nCOPY a b\nADD a b\nWORKDIR /w\nENV A=1\nLABEL l=1\nUSER u\nEXPOSE 80\nVOLUME /v\nCMD x\nHEALTHCHECK NONE\nSTOPSIGNAL TERM\nSHELL ["sh"]\nONBUILD RUN x\n');
    const layers = p.stages[0]?.instructions.map((i) => `${i.keyword}:${i.layer}:${i.createsLayer}`);
    expect(layers).toEqual([
      'FROM:none:false',
      'RUN:filesystem:true',
      'COPY:filesystem:true',
      'ADD:filesystem:true',
      'WORKDIR:conditional:false',
      'ENV:none:false',
      'LABEL:none:false',
      'USER:none:false',
      'EXPOSE:none:false',
      'VOLUME:none:false',
      'CMD:none:false',
      'HEALTHCHECK:none:false',
      'STOPSIGNAL:none:false',
      'SHELL:none:false',
      'ONBUILD:none:false',
    ]);
  });

  it('unknown instruction: DOCKERFILE_SYNTAX with a suggestion, the code and all findings', () => {
    const e = fails('FROM a\nRUNN echo\nCMD x\n');
    expect(e).toMatchObject({ code: 'DOCKERFILE_SYNTAX', line: 2, message: 'Dockerfile:2: unknown instruction: RUNN' });
    expect(e.hint).toContain('did you mean "RUN"');
    expect(e.details['rule']).toBe('IMG010');
    expect((e.details['warnings'] as { code: string }[]).map((w) => w.code)).toEqual(['IMG001', 'IMG010', 'IMG004']);
  });

  it('stdin Dockerfiles are named as such in messages', () => {
    expect(fails('FROM a\nRUNN x\n', { dockerfilePath: '-' }).message).toBe('Dockerfile (stdin):2: unknown instruction: RUNN');
  });
});

describe('secrets never reach the plan output', () => {
  it('secret-looking ARG/ENV values and build args are shown as ***', () => {
    const p = plan('FROM a\nARG NPM_TOKEN\nARG PLAIN=hello\nENV DB_PASSWORD=hunter22 OTHER=$NPM_TOKEN\nRUN --mount=type=bind,source=$NPM_TOKEN,target=/x true\n', {
      buildArgs: { NPM_TOKEN: 's3cr3t-value' },
    });
    const json = JSON.stringify(p);
    expect(json).not.toContain('s3cr3t-value');
    expect(json).not.toContain('hunter22');
    expect(inst(p, 2)?.args).toEqual(['NPM_TOKEN=***']);
    expect(inst(p, 3)?.args).toEqual(['PLAIN=hello']);
    expect(inst(p, 4)?.args).toEqual(['DB_PASSWORD=***', 'OTHER=***']);
    expect(inst(p, 4)?.text).toBe('ENV DB_PASSWORD=*** OTHER=$NPM_TOKEN');
  });
});
