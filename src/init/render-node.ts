/** Turns a detected Node project into the values templates/node/* need, and renders them. */
import { copyLines, findingsComment, imageNameFrom, warningsComment } from './render-common.js';
import { loadTemplate, renderTemplate, type TemplateValues } from './template.js';
import type { InitOutput, NodePackageManager, NodeProject } from './types.js';

/** The install/build/prune commands of one package manager. */
export interface NodeCommands {
  readonly installProd: string;
  readonly installAll: string;
  readonly prune: string;
  readonly build: string;
}

/** Commands for `manager`; `locked` says whether a lockfile exists (frozen installs need one). */
export function nodeCommands(manager: NodePackageManager, locked: boolean): NodeCommands {
  switch (manager) {
    case 'npm':
      return locked
        ? { installProd: 'npm ci --omit=dev --no-audit --no-fund', installAll: 'npm ci --no-audit --no-fund', prune: 'npm prune --omit=dev --no-audit --no-fund', build: 'npm run build' }
        : { installProd: 'npm install --omit=dev --no-audit --no-fund', installAll: 'npm install --no-audit --no-fund', prune: 'npm prune --omit=dev --no-audit --no-fund', build: 'npm run build' };
    case 'yarn': {
      const frozen = locked ? ' --frozen-lockfile' : '';
      const prod = `yarn install${frozen} --production=true --non-interactive`;
      return { installProd: prod, installAll: `yarn install${frozen} --non-interactive`, prune: prod, build: 'yarn run build' };
    }
    case 'yarn-berry': {
      // `workspaces focus` is yarn 2+'s production-only install (built in since yarn 4).
      const prod = 'corepack enable && yarn workspaces focus --all --production';
      return { installProd: prod, installAll: `corepack enable && yarn install${locked ? ' --immutable' : ''}`, prune: prod, build: 'yarn run build' };
    }
    case 'pnpm': {
      const frozen = locked ? ' --frozen-lockfile' : '';
      return {
        installProd: `corepack enable && pnpm install${frozen} --prod`,
        installAll: `corepack enable && pnpm install${frozen}`,
        prune: 'pnpm prune --prod',
        build: 'pnpm run build',
      };
    }
  }
}

/** Does the install step need a compiler? Only for dependencies it installs. */
export function needsToolchain(project: NodeProject): boolean {
  return project.native.some((d) => project.build !== undefined || !d.dev);
}

/** The template values for `project`. */
export function nodeTemplateValues(project: NodeProject): TemplateValues {
  const commands = nodeCommands(project.packageManager, project.lockfile !== undefined);
  const toolchain = needsToolchain(project);
  const manifests = ['package.json', ...(project.lockfile ? [project.lockfile] : []), ...project.installInputs];
  const outputs = project.build?.outputs ?? [];
  return {
    name: project.name,
    imageName: imageNameFrom(project.name),
    findings: findingsComment(project.findings),
    warnings: warningsComment(project.warnings),
    nodeTag: project.node.tag,
    nodeBuildTag: toolchain ? `${project.node.tag}-bookworm` : `${project.node.tag}-bookworm-slim`,
    toolchain,
    hasBuild: project.build !== undefined,
    isNpm: project.packageManager === 'npm',
    npmrc: project.hasNpmrc,
    manifestCopy: copyLines(manifests),
    installProd: commands.installProd,
    installAll: commands.installAll,
    prune: commands.prune,
    buildCommand: commands.build,
    cmd: JSON.stringify(project.entry.command).replace(/","/g, '", "'),
    buildOutputs: outputs.map((o) => o).join('\n'),
  };
}

/** Renders the Dockerfile and .dockerignore for a Node project. */
export async function renderNode(project: NodeProject, signal?: AbortSignal): Promise<InitOutput> {
  const values = nodeTemplateValues(project);
  const [dockerfileTemplate, ignoreTemplate] = await Promise.all([
    loadTemplate('node/Dockerfile.tmpl', signal),
    loadTemplate('node/dockerignore.tmpl', signal),
  ]);
  const summary = [
    `Node project ${project.name}: ${project.packageManager === 'yarn-berry' ? 'yarn 2+' : project.packageManager}, node:${project.node.tag} (${project.node.source})`,
    `  ${project.dependencies.production} production / ${project.dependencies.development} development dependencies (${project.treeSource})` +
      (project.workspaces.length > 0 ? `, ${project.workspaces.length} workspaces` : ''),
    values['toolchain'] === true
      ? `  native addons: ${project.native.map((d) => d.name).join(', ')} -> builder node:${String(values['nodeBuildTag'])} has python3, make, g++`
      : '  no native addons: slim builder, no toolchain',
    `  runs ${String(values['cmd'])}${project.build ? ' after `run build`' : ''} as user node`,
    ...project.warnings.map((w) => `  warning: ${w}`),
  ];
  return {
    dockerfile: renderTemplate('node/Dockerfile.tmpl', dockerfileTemplate, values),
    dockerignore: renderTemplate('node/dockerignore.tmpl', ignoreTemplate, values),
    summary,
  };
}
