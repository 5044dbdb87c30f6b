/**
 * Seed inputs for the fuzz targets: real-world shaped Dockerfiles, .dockerignore files,
 * references and headers. The mutators start from these, so most cases are "almost valid"
 * inputs that reach deep into the parsers rather than being rejected on the first byte.
 */

/** Dockerfiles as teams write them: multi-stage, ARG before FROM, heredocs, mounts, directives. */
export const DOCKERFILES: readonly string[] = [
  `# syntax=docker/dockerfile:1.7
ARG GO_VERSION=1.22
FROM golang:\${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/root/.cache/go-build \\
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -o /out/server ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/server"]
`,
  `ARG NODE_IMAGE=node:20-bookworm-slim
FROM \${NODE_IMAGE} AS deps
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci --omit=dev

FROM \${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --chown=node:node src/ ./src/
COPY ["package.json", "./"]
USER node
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "require('http').get('http://localhost:3000/health')"
CMD ["node", "src/server.js"]
`,
  `# escape=\`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command"]
RUN Write-Host \`
    hello
COPY app\\ C:\\app\\
WORKDIR C:\\app
`,
  `FROM alpine:3.19 AS base
RUN <<EOF
set -e
apk add --no-cache curl
echo done
EOF
COPY <<-"CONF" /etc/app.conf
	key=\${VALUE}
	CONF
FROM base AS test
ONBUILD COPY . /src
COPY --link --parents ./a/**/b.txt /dst/
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/x.tar.gz /x/
ADD git@github.com:moby/buildkit.git#v0.13.0 /buildkit
FROM base
LABEL org.opencontainers.image.source="https://github.com/x/y" version="1.0" description='multi word'
ENV A=1 B="two words" C=\${A:-default} D=\${B:+set}
ARG VERSION
RUN --mount=type=bind,source=.,target=/ctx --network=none ls /ctx
COPY --exclude=*.md --from=test /src /src
STOPSIGNAL SIGTERM
VOLUME ["/data"]
MAINTAINER someone
CMD echo \${VERSION}
`,
  `FROM scratch
ADD rootfs.tar.gz /
COPY ./config/*.yaml /etc/app/
COPY --chmod=0755 bin/entry* /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/entrypoint"]
`,
  `ARG BASE=debian:bookworm
ARG BUILDPLATFORM
FROM --platform=$BUILDPLATFORM \${BASE} AS builder
ARG BASE
RUN echo $BASE > /base
FROM builder AS final
COPY --from=0 /base /copied
COPY --from=builder /base /copied2
COPY --from=busybox:latest /bin/busybox /bin/
RUN --mount=type=cache,id=apt,target=/var/cache/apt \\
    --mount=type=secret,id=token \\
    --mount=type=ssh \\
    apt-get update && apt-get install -y --no-install-recommends ca-certificates
EXPOSE 80/tcp 443/udp
USER 1000
`,
];

/** Instruction lines worth inserting: odd flags, odd forms, the builder's edge cases. */
export const DOCKERFILE_LINES: readonly string[] = [
  'FROM',
  'FROM a AS',
  'FROM a AS b AS c',
  'FROM --platform= a',
  'FROM ${',
  'FROM ${X:?required}',
  'FROM $NOPE',
  'FROM a:b@sha256:zz',
  'FROM stage0',
  'COPY',
  'COPY a',
  'COPY --from= a b',
  'COPY --from=nope a b',
  'COPY --from=99 a b',
  'COPY --chown= a b',
  'COPY --bogus=1 a b',
  'COPY --link=false --parents=true a b',
  'COPY ["a", "b"',
  'COPY ["a" "b"]',
  'COPY [] /',
  'COPY ../../etc/passwd /x',
  'COPY /abs/path /x',
  'COPY ${HOME}/x /y',
  'COPY $TARGETARCH/bin /bin',
  'COPY [[:alpha:]]* /x',
  'COPY a\\[b /x',
  'COPY [ /x',
  'COPY * /x',
  'COPY <<EOF /x',
  'COPY <<EOF <<EOF2 /x',
  'RUN <<EOF',
  'RUN <<"EOF" cat',
  'RUN <<-EOF\n\tbody\n\tEOF',
  'RUN --mount=type=bind a',
  'RUN --mount=type=bind,from=x,source=../.. ls',
  'RUN --mount=type=secret,id=',
  'RUN --mount=type=cache,target=',
  'RUN --mount=type= ls',
  'RUN --mount ls',
  'RUN --network=host --security=insecure ls',
  'RUN ["sh", "-c"',
  'RUN [',
  'RUN ["a", 1]',
  'ARG',
  'ARG =x',
  'ARG A=${A}',
  'ARG A="unterminated',
  'ARG 1BAD=2',
  'ENV',
  'ENV A',
  'ENV A=',
  'ENV =B',
  'ENV A=${A}${A}${A}${A}${A}${A}${A}${A}',
  'ENV A="x',
  "ENV A='x",
  'ENV A=\\',
  'LABEL',
  'LABEL a',
  'LABEL "a=b',
  'WORKDIR',
  'WORKDIR ${',
  'USER',
  'EXPOSE abc',
  'EXPOSE 99999999999999999999',
  'HEALTHCHECK',
  'HEALTHCHECK NONE extra',
  'HEALTHCHECK --interval=abc CMD true',
  'HEALTHCHECK CMD',
  'ONBUILD',
  'ONBUILD ONBUILD RUN x',
  'ONBUILD FROM x',
  'SHELL',
  'SHELL not-json',
  'SHELL []',
  'STOPSIGNAL',
  'CMD',
  'CMD []',
  'ENTRYPOINT ["unterminated',
  'ADD',
  'ADD --checksum=md5:x https://h/x /x',
  'ADD http:// /x',
  'ADD https://example.com/a.tar /',
  'VOLUME',
  'VOLUME [',
  'MAINTAINER',
  'FOO bar',
  '# syntax=',
  '# escape=',
  '# escape=xx',
  '# escape=\\',
  '# check=skip=all;error=true',
  '#',
  '\\',
  '`',
  '\t',
  '   RUN    indented',
  'run lowercase',
  'from a as b',
];

/** .dockerignore files as projects write them. */
export const DOCKERIGNORES: readonly string[] = [
  `# dependencies
node_modules
npm-debug.log
.git
.env
.env.*
!.env.example
**/*.test.js
coverage/
dist/**
!dist/keep
*.md
!README.md
.docker
.npmrc
`,
  `*
!go.mod
!go.sum
!cmd/
!internal/**/*.go
**/testdata
`,
  `/build
./tmp/*
a/**/b/**/c
**
!**/keep
[a-z]*.log
\\#notacomment
file\\ with\\ spaces
?.txt
!
`,
];

/** Paths to match .dockerignore rules and COPY sources against. */
export const CONTEXT_PATHS: readonly string[] = [
  'Dockerfile',
  '.dockerignore',
  '.env',
  '.env.example',
  '.npmrc',
  '.docker/config.json',
  'README.md',
  'go.mod',
  'go.sum',
  'cmd/server/main.go',
  'internal/greet/greet.go',
  'internal/greet/testdata/x',
  'node_modules/a/index.js',
  'src/server.js',
  'src/a/b/c/d/e/f/g/h/i/j/k.js',
  'dist/keep',
  'dist/app.js',
  'a/b/c',
  'a/x/b/y/c',
  'bin/entrypoint',
  'config/app.yaml',
  'weird name/with space',
  'ünïcödé/ファイル',
  '[brackets]/x',
  '*star*',
];

/** Image references seen in the wild, valid and invalid. */
export const REFERENCES: readonly string[] = [
  'busybox',
  'library/busybox:1.36',
  'docker.io/library/busybox:latest',
  'index.docker.io/user/app',
  'registry-1.docker.io/user/app:tag',
  'localhost:5000/team/app:1.4',
  'localhost/app',
  '127.0.0.1:5001/a/b/c/d:v1',
  '[::1]:5000/app:1',
  '[fe80::1%eth0]:5000/app',
  'harbor.example.com/team/app@sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d',
  'ghcr.io/org/app:1.0@sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d',
  'gcr.io/distroless/static-debian12:nonroot',
  'a__b/c--d/e.f_g:h',
  'UPPER/case',
  'app:',
  ':tag',
  '@sha256:abc',
  'app@sha512:' + 'a'.repeat(128),
  'app@md5:' + 'a'.repeat(32),
  'https://registry/app',
  '24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d',
  'a'.repeat(300),
  'example.com:99999999999999999999/app',
];

/** WWW-Authenticate values registries and proxies send. */
export const CHALLENGES: readonly string[] = [
  'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
  'Bearer realm="http://127.0.0.1:5000/service/token",service="harbor-registry"',
  'Basic realm="basic-realm"',
  'Basic realm="Registry Realm", charset="UTF-8"',
  'Bearer realm=https://auth.example.com/token, service=registry, error="invalid_token"',
  'Negotiate abc==, Basic realm="x"',
  'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
  'Bearer realm="a\\"b", scope="repository:a:pull,push repository:b:pull"',
  'bearer REALM="x" , SERVICE="y"',
  'Digest realm="x", nonce="n", qop="auth,auth-int", algorithm=MD5',
];

/** Registry error bodies: the spec's shape, variants and what proxies answer instead. */
export const REGISTRY_ERROR_BODIES: readonly string[] = [
  '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"latest"}}]}',
  '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}',
  '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Name":"a","Action":"push"}]}]}',
  '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}',
  '{"errors":[]}',
  '{"errors":null}',
  '{"message":"project team not found"}',
  '{"error":"invalid_grant"}',
  '<html><head><title>413 Request Entity Too Large</title></head><body><center><h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center></body></html>',
  '<html><script>alert(1)</script><style>x{}</style>502 Bad Gateway</html>',
  'upstream connect error or disconnect/reset before headers',
  '',
  'null',
  '[]',
  '"string"',
  '42',
];
