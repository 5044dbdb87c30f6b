// Public surface of src/build; re-exported by src/index.ts.
export {};
