// Public surface of src/registry; re-exported by src/index.ts.
export {};
