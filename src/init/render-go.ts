/** Turns a detected Go module into the values templates/go/* need, and renders them. */
import { copyLines, findingsComment, imageNameFrom, warningsComment } from './render-common.js';
import { loadTemplate, renderTemplate, type TemplateValues } from './template.js';
import type { GoProject, InitOutput } from './types.js';

/** The template values for `project`. */
export function goTemplateValues(project: GoProject): TemplateValues {
  const moduleFiles = ['go.mod', ...(project.hasGoSum ? ['go.sum'] : []), ...project.localReplaces.map((d) => `${d}/`)];
  return {
    module: project.module,
    imageName: imageNameFrom(project.main.dir === '.' ? project.module : project.main.binary),
    findings: findingsComment(project.findings),
    warnings: warningsComment(project.warnings),
    goTag: project.imageTag,
    static: project.static,
    vendored: project.vendored,
    moduleCopy: copyLines(moduleFiles),
    binary: project.main.binary,
    mainDir: project.main.dir,
    buildOutputs: project.buildOutputDirs.join('\n'),
  };
}

/** Renders the Dockerfile and .dockerignore for a Go module. */
export async function renderGo(project: GoProject, signal?: AbortSignal): Promise<InitOutput> {
  const values = goTemplateValues(project);
  const [dockerfileTemplate, ignoreTemplate] = await Promise.all([
    loadTemplate('go/Dockerfile.tmpl', signal),
    loadTemplate('go/dockerignore.tmpl', signal),
  ]);
  const summary = [
    `Go module ${project.module}: golang:${project.imageTag}, builds ${project.main.dir} -> ${project.main.binary}` +
      (project.mains.length > 1 ? ` (other main packages: ${project.mains.filter((m) => m !== project.main).map((m) => m.dir).join(', ')})` : ''),
    project.static
      ? '  static binary (CGO_ENABLED=0) on distroless/static, user 65532'
      : `  cgo (${project.cgo.join(', ')}): dynamic binary on distroless/base (glibc), user 65532`,
    ...project.warnings.map((w) => `  warning: ${w}`),
  ];
  return {
    dockerfile: renderTemplate('go/Dockerfile.tmpl', dockerfileTemplate, values),
    dockerignore: renderTemplate('go/dockerignore.tmpl', ignoreTemplate, values),
    summary,
  };
}
