import { describe, expect, it } from 'vitest';
import { world } from '../world/world.js';
import { dockerCli } from '../world/base-image.js';

describe('test world', () => {
  it('has a private dockerd with the local base image', () => {
    const w = world();
    const out = dockerCli(w.docker.host, ['run', '--rm', '--network', 'none', w.baseImage, 'echo', 'hello from busybox']);
    expect(out.trim()).toBe('hello from busybox');
  });

  it('has an open registry answering /v2/', async () => {
    const res = await fetch(`${world().open.url}/v2/`);
    expect(res.status).toBe(200);
  });
});
