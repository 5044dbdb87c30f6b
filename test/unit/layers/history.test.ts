import { describe, expect, it } from 'vitest';
import { cleanCreatedBy, mapHistory } from '../../../src/layers/history.js';
import type { ImageConfig } from '../../../src/image/manifest.js';

const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const config = (history: ImageConfig['history'], layers: number): ImageConfig => ({
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: Array.from({ length: layers }, (_, i) => d(i + 1)) },
  ...(history === undefined ? {} : { history }),
});

describe('mapHistory', () => {
  it('gives each non-empty entry the next diff_id', () => {
    const m = mapHistory(
      config(
        [
          { created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
          { created_by: '/bin/sh -c #(nop)  ENV A=b', empty_layer: true },
          { created_by: '/bin/sh -c apk add curl' },
          { created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
        ],
        2,
      ),
    );
    expect(m.malformed).toBeUndefined();
    expect(m.rows.map((r) => [r.layerIndex, r.diffId, r.emptyLayer])).toEqual([
      [0, d(1), false],
      [undefined, undefined, true],
      [1, d(2), false],
      [undefined, undefined, true],
    ]);
  });

  it('reports more layers than history entries as malformed, listing the unmatched layers', () => {
    const m = mapHistory(config([{ created_by: 'a' }], 3));
    expect(m.malformed?.code).toBe('CONFIG_INVALID');
    expect(m.malformed?.message).toMatch(/1 entries that create a layer but rootfs lists 3/);
    expect(m.rows.map((r) => r.layerIndex)).toEqual([0, 1, 2]);
    expect(m.rows[2]?.historyIndex).toBe(-1);
  });

  it('reports more history entries than layers as malformed without crashing', () => {
    const m = mapHistory(config([{ created_by: 'a' }, { created_by: 'b' }, { created_by: 'c' }], 1));
    expect(m.malformed?.code).toBe('CONFIG_INVALID');
    expect(m.rows.map((r) => r.layerIndex)).toEqual([0, undefined, undefined]);
  });

  it('synthesises one row per layer when history is absent (optional in the spec)', () => {
    const m = mapHistory(config(undefined, 2));
    expect(m.malformed).toBeUndefined();
    expect(m.rows).toHaveLength(2);
  });
});

describe('cleanCreatedBy', () => {
  it('drops the classic builder wrapper for metadata instructions, keeps RUN shells', () => {
    expect(cleanCreatedBy('/bin/sh -c #(nop)  CMD ["/bin/sh"]')).toBe('CMD ["/bin/sh"]');
    expect(cleanCreatedBy('/bin/sh -c #(nop) COPY file:73e2 in /bin/busybox ')).toBe('COPY file:73e2 in /bin/busybox');
    expect(cleanCreatedBy('/bin/sh -c echo hi')).toBe('/bin/sh -c echo hi');
    expect(cleanCreatedBy(undefined)).toBe('');
  });
});
