/**
 * The imgtool library: everything the CLI does, without the CLI. Each module's public
 * surface is its own index.ts; this file only gathers them.
 */
export * from './image/index.js';
export * from './layers/index.js';
export * from './engine/index.js';
export * from './registry/index.js';
export * from './build/index.js';
export * from './init/index.js';
