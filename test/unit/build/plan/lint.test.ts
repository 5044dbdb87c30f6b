import { describe, expect, it } from 'vitest';
import { isImgtoolError } from '../../../../src/image/errors.js';
import { LINT_RULES, planBuild, type PlanBuildOptions } from '../../../../src/build/plan/index.js';
import { aptInstalls } from '../../../../src/build/plan/lint.js';
import { credentialFileReason, isSecretName } from '../../../../src/build/plan/secrets.js';

const BASE = 'FROM alpine:3.19\n';
/** Lint findings of `text` as `CODE@line`. */
const codes = (text: string, opts: Partial<PlanBuildOptions> = {}): string[] =>
  planBuild({ dockerfileText: text, dockerfilePath: 'Dockerfile', ...opts }).warnings.map((w) => `${w.code}@${w.line ?? '-'}`);
const has = (text: string, code: string, opts: Partial<PlanBuildOptions> = {}): boolean => codes(text, opts).some((c) => c.startsWith(`${code}@`));

describe('lint rules: each fires on its case and stays quiet otherwise', () => {
  it('the table has stable codes with rule names', () => {
    expect(Object.keys(LINT_RULES)).toEqual(Array.from({ length: 19 }, (_, i) => `IMG${String(i + 1).padStart(3, '0')}`));
    expect(LINT_RULES['IMG010']).toEqual({ rule: 'unknown-instruction', severity: 'error' });
  });

  it('IMG001 base-image-untagged', () => {
    expect(codes('FROM alpine\n')).toContain('IMG001@1');
    expect(codes('FROM a AS s\nFROM b:1\nCOPY --from=busybox /x /x\n')).toContain('IMG001@3');
    expect(has('FROM alpine:3.19\n', 'IMG001')).toBe(false);
    expect(has('FROM alpine@sha256:' + 'a'.repeat(64) + '\n', 'IMG001')).toBe(false);
    expect(has('FROM scratch\n', 'IMG001')).toBe(false);
    expect(has('FROM alpine:3 AS b\nFROM b\n', 'IMG001')).toBe(false);
  });

  it('IMG002 base-image-latest', () => {
    expect(codes('FROM alpine:latest\n')).toContain('IMG002@1');
    expect(codes('ARG T=latest\nFROM registry:5000/team/app:$T\n')).toContain('IMG002@2');
    expect(has('FROM alpine:3.19\n', 'IMG002')).toBe(false);
    expect(has('FROM alpine\n', 'IMG002')).toBe(false);
  });

  it('IMG003 add-instead-of-copy', () => {
    expect(codes(`${BASE}ADD src /app\n`)).toContain('IMG003@2');
    expect(has(`${BASE}ADD app.tar.gz /app\n`, 'IMG003')).toBe(false);
    expect(has(`${BASE}ADD https://example.com/x /x\n`, 'IMG003')).toBe(false);
    expect(has(`${BASE}ADD src.tgz other /app/\n`, 'IMG003')).toBe(false);
    expect(has(`${BASE}COPY src /app\n`, 'IMG003')).toBe(false);
  });

  it('IMG004 shell-form-cmd-entrypoint', () => {
    expect(codes(`${BASE}CMD node server.js\n`)).toContain('IMG004@2');
    expect(codes(`${BASE}ENTRYPOINT /app\n`)).toContain('IMG004@2');
    expect(has(`${BASE}CMD ["node", "server.js"]\nENTRYPOINT ["/app"]\n`, 'IMG004')).toBe(false);
  });

  it('IMG005 multiple-cmd-entrypoint (per stage)', () => {
    expect(codes(`${BASE}CMD ["a"]\nCMD ["b"]\n`)).toContain('IMG005@3');
    expect(codes(`${BASE}ENTRYPOINT ["a"]\nENTRYPOINT ["b"]\n`)).toContain('IMG005@3');
    expect(has(`${BASE}CMD ["a"]\nENTRYPOINT ["b"]\n`, 'IMG005')).toBe(false);
    expect(has(`${BASE}CMD ["a"]\nFROM alpine:3.19\nCMD ["b"]\n`, 'IMG005')).toBe(false);
  });

  it('IMG006 relative-workdir (after expansion)', () => {
    expect(codes(`${BASE}WORKDIR app\n`)).toContain('IMG006@2');
    expect(codes(`${BASE}ARG D=app\nWORKDIR $D\n`)).toContain('IMG006@3');
    expect(has(`${BASE}WORKDIR /app\n`, 'IMG006')).toBe(false);
    expect(has(`${BASE}ARG D=/app\nWORKDIR $D/x\n`, 'IMG006')).toBe(false);
    expect(has(`${BASE}WORKDIR $HOME/app\n`, 'IMG006')).toBe(false);
  });

  it('IMG007 secret-in-arg-env (word-ish names)', () => {
    expect(codes(`ARG GITHUB_TOKEN\n${BASE}ARG API_KEY\nENV DB_PASSWORD=x dbSecret=y\n`)).toEqual(['IMG007@1', 'IMG007@3', 'IMG007@4', 'IMG007@4']);
    expect(has(`${BASE}ARG KEYBOARD=x\nENV MONKEY=1 PUBLIC_KEY=k TOKENIZER=t PASSTHROUGH=1\n`, 'IMG007')).toBe(false);
    for (const n of ['API_KEY', 'apiKey', 'PASSWORD', 'NPM_TOKEN', 'aws-secret', 'DB_PASS', 'AUTH_TOKEN', 'SECRET']) expect(isSecretName(n), n).toBe(true);
    for (const n of ['KEYBOARD', 'MONKEY', 'PUBLIC_KEY', 'TOKENIZER', 'SECRETARY', 'PATH', 'PWD', 'BYPASS']) expect(isSecretName(n), n).toBe(false);
  });

  it('IMG008 apt-get-install-no-yes', () => {
    expect(codes(`${BASE}RUN apt-get update && apt-get install curl && rm -rf /var/lib/apt/lists/*\n`)).toContain('IMG008@2');
    expect(has(`${BASE}RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n`, 'IMG008')).toBe(false);
    expect(has(`${BASE}RUN apt-get -qq install curl && rm -rf /var/lib/apt/lists/*\n`, 'IMG008')).toBe(false);
    expect(has(`${BASE}RUN apt-get install --no-install-recommends --yes curl && rm -rf /var/lib/apt/lists/*\n`, 'IMG008')).toBe(false);
    expect(aptInstalls('apt-get update; apt-get install -yq a b | tee x').map((c) => c.yes)).toEqual([true]);
    expect(aptInstalls('DEBIAN_FRONTEND=noninteractive apt-get -o X=1 install a').map((c) => c.yes)).toEqual([false]);
    expect(aptInstalls('apt-get update')).toEqual([]);
  });

  it('IMG009 apt-get-lists-not-cleaned (same RUN; heredoc scripts count; a cache mount is fine)', () => {
    expect(codes(`${BASE}RUN apt-get update && apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n`)).toContain('IMG009@2');
    expect(has(`${BASE}RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n`, 'IMG009')).toBe(false);
    expect(has(`${BASE}RUN <<EOF\napt-get update\napt-get install -y curl\nrm -rf /var/lib/apt/lists/*\nEOF\n`, 'IMG009')).toBe(false);
    expect(codes(`${BASE}RUN <<EOF\napt-get install curl\nEOF\n`)).toEqual(expect.arrayContaining(['IMG008@2', 'IMG009@2']));
    expect(has(`${BASE}RUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y curl\n`, 'IMG009')).toBe(false);
    expect(has(`${BASE}RUN apk add curl\n`, 'IMG009')).toBe(false);
  });

  it('IMG010 unknown-instruction is an error finding: planBuild throws with every finding attached', () => {
    let err: unknown;
    try {
      planBuild({ dockerfileText: `${BASE}COPPY a b\nCMD x\n`, dockerfilePath: 'Dockerfile' });
    } catch (e) {
      err = e;
    }
    expect(isImgtoolError(err, 'DOCKERFILE_SYNTAX')).toBe(true);
    if (!isImgtoolError(err)) return;
    expect(err.details).toMatchObject({ file: 'Dockerfile', line: 2, rule: 'IMG010' });
    expect((err.details['warnings'] as { code: string; line: number }[]).map((w) => `${w.code}@${w.line}`)).toEqual(['IMG010@2', 'IMG004@3']);
    expect(has(`${BASE}COPY a b\n`, 'IMG010')).toBe(false);
  });

  it('IMG011 large-context-no-dockerignore (threshold 10 MiB)', () => {
    const big = 10 * 1024 * 1024 + 1;
    expect(codes(BASE, { contextInfo: { hasDockerignore: false, totalBytes: big } })).toContain('IMG011@-');
    expect(has(BASE, 'IMG011', { contextInfo: { hasDockerignore: true, totalBytes: big } })).toBe(false);
    expect(has(BASE, 'IMG011', { contextInfo: { hasDockerignore: false, totalBytes: 10 * 1024 * 1024 } })).toBe(false);
    expect(has(BASE, 'IMG011')).toBe(false);
  });

  it('IMG012 credentials-in-context: at the COPY line when copied, context-wide otherwise', () => {
    const paths = ['src/app.js', '.env', '.npmrc', 'keys/id_rsa', 'keys/id_rsa.pub', '.env.example', 'home/.docker/config.json'];
    const w = planBuild({ dockerfileText: `${BASE}COPY src /app\nCOPY .npmrc /root/\n`, dockerfilePath: 'Dockerfile', contextPaths: paths }).warnings.filter((x) => x.code === 'IMG012');
    expect(w.map((x) => `${x.line ?? '-'} ${x.message.split(' ').slice(0, 3).join(' ')}`)).toEqual([
      '3 COPY copies .npmrc',
      '- the context holds',
      '- the context holds',
      '- the context holds',
    ]);
    expect(w.map((x) => x.message).join('\n')).toMatch(/\.env .*keys\/id_rsa .*home\/\.docker\/config\.json/s);
    expect(has(`${BASE}COPY . /app\n`, 'IMG012', { contextPaths: ['src/a.js', '.env.example', 'id_rsa.pub'] })).toBe(false);
    expect(credentialFileReason('.env.production')).toBeDefined();
    expect(credentialFileReason('certs/server.key')).toBeDefined();
    expect(credentialFileReason('environment.ts')).toBeUndefined();
  });

  it('IMG013 external-frontend', () => {
    expect(codes(`# syntax=example.com/my/frontend:1\n${BASE}`)).toContain('IMG013@1');
    for (const s of ['docker/dockerfile:1', 'docker/dockerfile:1.7-labs', 'docker.io/docker/dockerfile@sha256:' + 'b'.repeat(64), 'docker/dockerfile']) {
      expect(has(`# syntax=${s}\n${BASE}`, 'IMG013'), s).toBe(false);
    }
  });

  it('IMG014 build-arg-unused', () => {
    expect(codes(BASE, { buildArgs: { NOPE: '1' } })).toContain('IMG014@-');
    expect(has(`${BASE}ARG YES\n`, 'IMG014', { buildArgs: { YES: '1', HTTPS_PROXY: 'http://p' } })).toBe(false);
  });

  it('IMG015 buildkit-only (only with the classic builder)', () => {
    const text = `${BASE}RUN --mount=type=cache,target=/c true\nCOPY --link a /a\nRUN <<EOF\ntrue\nEOF\nADD --checksum=sha256:${'c'.repeat(64)} https://x/y /y\n`;
    expect(codes(text, { builder: 'classic' }).filter((c) => c.startsWith('IMG015'))).toEqual(['IMG015@2', 'IMG015@3', 'IMG015@4', 'IMG015@7']);
    expect(has(text, 'IMG015', { builder: 'buildkit' })).toBe(false);
    expect(has(text, 'IMG015')).toBe(false);
    expect(has(`${BASE}RUN true\nCOPY a /a\n`, 'IMG015', { builder: 'classic' })).toBe(false);
  });

  it('IMG016 maintainer-deprecated', () => {
    expect(codes(`${BASE}MAINTAINER me <me@example.com>\n`)).toContain('IMG016@2');
    expect(has(`${BASE}LABEL org.opencontainers.image.authors=me\n`, 'IMG016')).toBe(false);
  });

  it('IMG017 empty-continuation-line', () => {
    expect(codes(`${BASE}RUN echo a \\\n\n  b\n`)).toContain('IMG017@2');
    expect(has(`${BASE}RUN echo a \\\n  # comment\n  b\n`, 'IMG017')).toBe(false);
  });

  it('IMG018 legacy-key-value', () => {
    expect(codes(`${BASE}ENV A 1\nLABEL b 2\n`)).toEqual(expect.arrayContaining(['IMG018@2', 'IMG018@3']));
    expect(has(`${BASE}ENV A=1\nLABEL b=2\n`, 'IMG018')).toBe(false);
  });

  it('IMG019 newer-substitution', () => {
    expect(codes(`${BASE}ENV A=\${B-x}\n`)).toContain('IMG019@2');
    expect(codes(`${BASE}ARG V=v1.2\nLABEL v=\${V#v}\n`)).toContain('IMG019@3');
    expect(has(`${BASE}ENV A=\${B:-x} C=\${B:+y}\n`, 'IMG019')).toBe(false);
    expect(has(`${BASE}RUN echo \${B-x}\n`, 'IMG019')).toBe(false);
  });

  it('warnings come sorted by line, context-wide ones last', () => {
    const w = codes(`FROM alpine\nCMD x\n`, { buildArgs: { Z: '1' } });
    expect(w).toEqual(['IMG001@1', 'IMG004@2', 'IMG014@-']);
  });
});
