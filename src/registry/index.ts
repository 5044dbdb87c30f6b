// Public surface of src/registry; re-exported by src/index.ts.
export {};
export * from './credentials/index.js';
export * from './engine-ops/index.js';
