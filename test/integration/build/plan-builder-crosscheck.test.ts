/**
 * The planner's variable expansion checked against the real builders of the private dockerd
 * (Engine 20.10: classic = API version=1, BuildKit = version=2): a Dockerfile full of ARG/ENV
 * scoping and substitution cases is built, and the values the builder produced (LABELs, ENV,
 * WORKDIR in `docker inspect`; what RUN echoed) must equal the plan's expansions. Where the two
 * builders differ, the plan follows BuildKit and the classic value is asserted as documented.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planBuild } from '../../../src/build/plan/index.js';
import type { BuildPlan } from '../../../src/build/plan/index.js';
import { dockerCli } from '../../world/base-image.js';
import { world } from '../../world/world.js';

/** POST /build with a tar body; returns the raw JSON-lines answer (errors inside the 200 stream included). */
function rawBuild(socketPath: string, tar: Buffer, query: Record<string, string>): Promise<string> {
  const qs = new URLSearchParams({ networkmode: 'none', nocache: '1', ...query }).toString();
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: `/v1.41/build?${qs}`, method: 'POST', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end(tar);
  });
}

/** `VAL:name=value` lines a RUN printed: plain stream lines (classic), or inside BuildKit's base64 trace. */
function echoed(answer: string): Map<string, string> {
  let text = '';
  for (const line of answer.split('\n')) {
    if (line.trim() === '') continue;
    const msg = JSON.parse(line) as { stream?: string; id?: string; aux?: string };
    if (msg.stream) text += msg.stream;
    // The trace is a protobuf StatusResponse whose log entries hold the raw output bytes.
    if (msg.id === 'moby.buildkit.trace' && typeof msg.aux === 'string') text += Buffer.from(msg.aux, 'base64').toString('latin1');
  }
  const out = new Map<string, string>();
  for (const m of text.matchAll(/VAL:([A-Z0-9_]+)=\[([^\]\n]*)\]/g)) out.set(m[1] as string, m[2] as string);
  return out;
}

interface Inspected {
  labels: Record<string, string>;
  env: string[];
  workdir: string;
}

function inspect(host: string, tag: string): Inspected {
  const out = dockerCli(host, ['inspect', '--format', '{{json .Config}}', tag]);
  const c = JSON.parse(out) as { Labels: Record<string, string> | null; Env: string[] | null; WorkingDir: string };
  return { labels: c.Labels ?? {}, env: c.Env ?? [], workdir: c.WorkingDir };
}

/** The plan's values for the target stage: labels, env (last ENV wins), workdir. */
function planned(plan: BuildPlan): Inspected {
  const stage = plan.stages[plan.target.index];
  const labels: Record<string, string> = {};
  const env = new Map<string, string>();
  let workdir = '';
  // ENV of the parent stage chain come first, as in the image config.
  const chain: number[] = [];
  for (let s = stage; s; s = s.baseIsStage && s.baseStage !== undefined ? plan.stages[s.baseStage] : undefined) chain.unshift(s.index);
  for (const i of chain) {
    for (const inst of plan.stages[i]?.instructions ?? []) {
      const pairs = inst.args.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] as const);
      if (inst.keyword === 'LABEL') for (const [k, v] of pairs) labels[k] = v;
      if (inst.keyword === 'ENV') for (const [k, v] of pairs) env.set(k, v);
      if (inst.keyword === 'WORKDIR') workdir = inst.args[0] ?? '';
    }
  }
  return { labels, env: [...env].map(([k, v]) => `${k}=${v}`), workdir };
}

function dockerfile(base: string): string {
  return [
    `ARG BASE=${base}`,
    'ARG G1=global',
    'ARG G2',
    'FROM $BASE AS parent',
    'ARG PARENTARG=p',
    'ENV PARENTENV=pe',
    'FROM parent',
    'ARG G1',
    'ARG G2=stagedefault',
    'ARG LOCAL=local',
    'ARG OVER=default',
    'ARG UNSET',
    'ARG GEMPTY=',
    `ENV E1=$G1 E2="\${G2}" E3='$G1' E4=\\$G1 E5=\${UNSET:-dflt} E6=\${LOCAL:+alt} E7=\${UNSET:+alt} E8=\${GEMPTY:-empty}`,
    'ENV E9=$E1-x E10=${E1}y',
    'ENV E1=changed E11=$E1',
    `LABEL l.e1="$E1" l.e11="$E11" l.over=$OVER l.q="a b" l.sq='x $G1' l.mix=pre"$LOCAL"post l.esc=a\\ b l.dollar=\\$ l.num=$1x l.dq="say \\"hi\\" \\$E1" l.inherit=$PARENTARG l.inherit2=$PARENTENV`,
    'LABEL l.legacy form value with $LOCAL',
    'ENV ARGVSENV=env',
    'ARG ARGVSENV=arg',
    'LABEL l.argvsenv=$ARGVSENV',
    'WORKDIR /w/$LOCAL',
    'WORKDIR sub',
    'RUN echo "VAL:E1=[$E1]" && echo "VAL:E11=[$E11]" && echo "VAL:OVER=[$OVER]" && echo "VAL:LOCAL=[$LOCAL]" && echo "VAL:GEMPTY=[$GEMPTY]"',
    '',
  ].join('\n');
}

describe('plan expansion = the real builder', () => {
  const cases = [
    { builder: 'classic', version: '1' },
    { builder: 'buildkit', version: '2' },
  ] as const;
  for (const { builder, version } of cases) {
    it(`matches the ${builder} builder (API version=${version})`, async () => {
      const w = world();
      const dir = join(w.tmp, `plan-xcheck-${builder}`);
      mkdirSync(dir, { recursive: true });
      const text = dockerfile(w.baseImage);
      writeFileSync(join(dir, 'Dockerfile'), text);
      const tar = execFileSync('tar', ['-C', dir, '-cf', '-', '.']);
      const tag = `imgtool-plan-xcheck:${builder}`;
      const answer = await rawBuild(w.docker.socketPath, tar, { version, t: tag, buildargs: JSON.stringify({ OVER: 'fromcli' }) });
      expect(answer).not.toContain('"error"');

      const plan = planBuild({ dockerfileText: text, dockerfilePath: 'Dockerfile', buildArgs: { OVER: 'fromcli' } });
      const want = planned(plan);
      const got = inspect(w.docker.host, tag);

      // The two places where Engine 20.10's builders disagree; the plan follows BuildKit.
      const differs = { 'l.argvsenv': { classic: 'env', buildkit: 'arg' }, 'l.inherit': { classic: '', buildkit: 'p' } } as const;
      for (const [k, v] of Object.entries(differs)) {
        expect(want.labels[k]).toBe(v.buildkit);
        expect(got.labels[k]).toBe(v[builder]);
      }
      const strip = (l: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(l).filter(([k]) => !(k in differs)));
      expect(strip(got.labels)).toEqual(strip(want.labels));
      expect(Object.keys(want.labels).length).toBeGreaterThan(10);
      // The base image adds PATH; everything else comes from the Dockerfile.
      expect(got.env.filter((e) => !e.startsWith('PATH='))).toEqual(want.env);
      expect(got.workdir).toBe('/w/local/sub');
      expect(want.workdir).toBe('sub'); // relative WORKDIR: the plan shows it as written after expansion...
      expect(plan.warnings.some((x) => x.code === 'IMG006')).toBe(true); // ...and warns about it

      // What RUN saw in its environment equals what the plan expanded for the same names.
      const vals = echoed(answer);
      expect(vals.get('E1')).toBe(want.labels['l.e1']);
      expect(vals.get('E11')).toBe(want.labels['l.e11']);
      expect(vals.get('OVER')).toBe('fromcli');
      expect(vals.get('LOCAL')).toBe('local');
      expect(vals.get('GEMPTY')).toBe('');
    });
  }

  it('honours # escape=` as the builder does', async () => {
    const w = world();
    const dir = join(w.tmp, 'plan-xcheck-escape');
    mkdirSync(dir, { recursive: true });
    const text = ['# escape=`', `FROM ${w.baseImage}`, 'ARG V=val', 'LABEL a="C:\\dir\\$V" b=x`$V c="q`"q" d=multi`', 'line', 'ENV P=C:\\path', ''].join('\n');
    writeFileSync(join(dir, 'Dockerfile'), text);
    const tar = execFileSync('tar', ['-C', dir, '-cf', '-', '.']);
    const plan = planBuild({ dockerfileText: text, dockerfilePath: 'Dockerfile' });
    const want = planned(plan);
    for (const [builder, version] of [['classic', '1'], ['buildkit', '2']] as const) {
      const tag = `imgtool-plan-xcheck:escape-${builder}`;
      const answer = await rawBuild(w.docker.socketPath, tar, { version, t: tag });
      expect(answer).not.toContain('"error"');
      const got = inspect(w.docker.host, tag);
      expect(got.labels).toEqual(want.labels);
      expect(got.env.filter((e) => !e.startsWith('PATH='))).toEqual(want.env);
    }
    expect(want.labels).toEqual({ a: 'C:\\dir\\val', b: 'x$V', c: 'q"q', d: 'multiline' });
  });

  it('Engine 20.10 rejects ${VAR-default}; the plan expands it as newer BuildKit does and warns (IMG019)', async () => {
    const w = world();
    const dir = join(w.tmp, 'plan-xcheck-newer');
    mkdirSync(dir, { recursive: true });
    const text = [`FROM ${w.baseImage}`, 'LABEL a=${NOPE-d}', ''].join('\n');
    writeFileSync(join(dir, 'Dockerfile'), text);
    const tar = execFileSync('tar', ['-C', dir, '-cf', '-', '.']);
    const answer = await rawBuild(w.docker.socketPath, tar, { version: '2' });
    expect(answer).toContain("missing ':' in substitution");
    const plan = planBuild({ dockerfileText: text, dockerfilePath: 'Dockerfile' });
    expect(planned(plan).labels).toEqual({ a: 'd' });
    expect(plan.warnings.map((x) => x.code)).toContain('IMG019');
  });
});

describe('layers the plan predicts = layers the builders create', () => {
  for (const [builder, version] of [['classic', '1'], ['buildkit', '2']] as const) {
    it(`${builder}: RUN/COPY/ADD add a layer, WORKDIR one as documented for this builder, the rest none`, async () => {
      const w = world();
      const dir = join(w.tmp, `plan-layers-${builder}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'f.txt'), 'x\n');
      const text = [`FROM ${w.baseImage}`, 'WORKDIR /newdir', 'WORKDIR /newdir', 'WORKDIR /tmp', 'LABEL a=1', 'ENV B=2', 'COPY f.txt /f.txt', 'ADD f.txt /g.txt', 'RUN echo hi > /h.txt', 'CMD ["sh"]', ''].join('\n');
      writeFileSync(join(dir, 'Dockerfile'), text);
      const tar = execFileSync('tar', ['-C', dir, '-cf', '-', '.']);
      const tag = `imgtool-plan-layers:${builder}`;
      const answer = await rawBuild(w.docker.socketPath, tar, { version, t: tag });
      expect(answer).not.toContain('"error"');
      const layers = (ref: string): number => (JSON.parse(dockerCli(w.docker.host, ['inspect', '--format', '{{json .RootFS.Layers}}', ref])) as string[]).length;
      const added = layers(tag) - layers(w.baseImage);
      const plan = planBuild({ dockerfileText: text, dockerfilePath: 'Dockerfile' });
      const insts = plan.stages[0]?.instructions ?? [];
      const filesystem = insts.filter((i) => i.layer === 'filesystem').length;
      const conditional = insts.filter((i) => i.layer === 'conditional').map((i) => i.args[0]);
      expect(filesystem).toBe(3);
      expect(conditional).toEqual(['/newdir', '/newdir', '/tmp']);
      // Classic commits WORKDIR's mkdir as a layer only when it changed something (the first
      // /newdir; /tmp exists in the base). BuildKit (Engine 20.10) adds a layer for every
      // WORKDIR but `/`, changed or not: hence LayerEffect 'conditional'.
      expect(added).toBe(builder === 'classic' ? filesystem + 1 : filesystem + conditional.length);
    });
  }
});
