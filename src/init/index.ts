// Public surface of src/init; re-exported by src/index.ts.
export { detectProject, renderProject, writeInitFiles, initProject, lintGenerated, INIT_FILES } from './init.js';
export type { DetectProjectOptions, WriteInitOptions, InitProjectOptions, InitResult } from './init.js';
export { detectNodeProject } from './node-detect.js';
export { detectGoProject, parseGoMod } from './go-detect.js';
export { renderNode } from './render-node.js';
export { renderGo } from './render-go.js';
export { renderTemplate, templatesDir } from './template.js';
export type {
  InitLanguage,
  InitProject,
  InitOutput,
  NodeProject,
  GoProject,
  GoMainPackage,
  NodePackageManager,
  NativeDependency,
  InitFinding,
} from './types.js';
