import { describe, expect, it } from 'vitest';
import { world } from '../../world/world.js';
import { startFaultProxy } from '../../world/fault-proxy.js';
import { buildLayeredImage, imgtoolEnv, imgtoolInProcess, uniqName } from './faults-helpers.js';

describe('explore', () => {
  it('cli 429', async () => {
    const w = world();
    const img = await buildLayeredImage(`imgtool-test/faults:${uniqName()}`, [1_500_000]);
    const proxy = await startFaultProxy({ target: { host: w.open.host } });
    proxy.setFaults({ rate: 1, seed: 42, retryAfterSeconds: 1, kinds: { status429: 1 }, maxFaults: 1, only: (m, p) => m === 'PUT' && p.includes('/blobs/uploads/') });
    const r = await imgtoolInProcess(['-D', 'push', '--direct', '--from', `docker-daemon:${img.tag}`, `${proxy.host}/faults/cli-${uniqName()}:t`], imgtoolEnv());
    console.log(r.code, r.stdout, r.stderr.split('\n').filter((l) => !l.startsWith('→') ).join('\n'));
    await proxy.close();
    expect(1).toBe(1);
  });
});
