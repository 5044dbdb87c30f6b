// Public surface of src/init; re-exported by src/index.ts.
export {};
