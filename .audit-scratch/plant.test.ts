// Scratch (deleted after use): proves a planted secret fails the whole vitest run at world teardown.
import { expect, it } from 'vitest';
import { recordImgtoolOutput } from '../test/world/transcript.js';
import { world } from '../test/world/world.js';

it('records output', () => {
  const w = world();
  const leak = process.env['PLANT_SECRET'] === '1' ? ` auth: ${Buffer.from(`${w.basic.username}:${w.basic.password}`).toString('base64')}` : '';
  recordImgtoolOutput('scratch: imgtool login', `Login Succeeded${leak}`, '');
  expect(true).toBe(true);
});
