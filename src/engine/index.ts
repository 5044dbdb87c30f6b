// Public surface of src/engine; re-exported by src/index.ts.
export {};
