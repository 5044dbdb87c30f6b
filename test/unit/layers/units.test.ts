import { describe, expect, it } from 'vitest';
import { humanSize, parseRatio, parseSize } from '../../../src/layers/units.js';
import { evaluateGates } from '../../../src/layers/report.js';
import { inferEmptyLayers } from '../../../src/engine/image-source.js';
import { parseSourceSpec } from '../../../src/layers/source-spec.js';

describe('sizes', () => {
  it('renders like docker and parses decimal and binary units', () => {
    expect([0, 30, 3216, 1982256, 3_145_728].map(humanSize)).toEqual(['0B', '30B', '3.22kB', '1.98MB', '3.15MB']);
    expect(parseSize('500MB', '--max-size')).toBe(500_000_000);
    expect(parseSize('1.5GiB', '--max-size')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('1234', '--max-size')).toBe(1234);
    expect(() => parseSize('lots', '--max-size')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(parseRatio('0.9', 'x')).toBe(0.9);
    expect(parseRatio('90%', 'x')).toBe(0.9);
    expect(() => parseRatio('1.5', 'x')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('gates compare against the analysis', () => {
    const g = evaluateGates({ maxSize: 100, maxWasted: 10, minEfficiency: 0.95 }, { totalBytes: 100, wastedBytes: 11, efficiency: 0.89 });
    expect(g.map((x) => [x.gate, x.passed])).toEqual([
      ['max-size', true],
      ['max-wasted', false],
      ['min-efficiency', false],
    ]);
  });
});

describe('inferEmptyLayers (engine history without empty_layer flags)', () => {
  const h = (CreatedBy: string, Size: number) => ({ Id: '<missing>', Created: 0, CreatedBy, Tags: null, Size, Comment: '' });
  it('uses sizes, then instruction kinds for zero-size entries', () => {
    const entries = [h('/bin/sh -c #(nop) COPY file:x in /', 100), h('/bin/sh -c mkdir /x', 0), h('/bin/sh -c #(nop)  CMD ["sh"]', 0)];
    expect(inferEmptyLayers(entries, 2)).toEqual([false, false, true]);
    expect(inferEmptyLayers(entries, 1)).toEqual([false, true, true]);
    expect(inferEmptyLayers(entries, 3)).toEqual([false, false, false]);
    // Ambiguous: two zero-size RUNs but only one layer left: the caller reads the real config.
    expect(inferEmptyLayers([h('RUN a', 0), h('RUN b', 0)], 1)).toBeUndefined();
  });
});

describe('source names', () => {
  it('parses skopeo-style transports', () => {
    expect(parseSourceSpec('docker-archive:/tmp/a.tar')).toEqual({ transport: 'docker-archive', path: '/tmp/a.tar' });
    expect(parseSourceSpec('docker-archive:/tmp/a.tar:app:1')).toEqual({ transport: 'docker-archive', path: '/tmp/a.tar', ref: 'app:1' });
    expect(parseSourceSpec('oci:/d:v1')).toEqual({ transport: 'oci', path: '/d', ref: 'v1' });
    expect(parseSourceSpec('docker://localhost:5000/a:1')).toEqual({ transport: 'docker', ref: 'localhost:5000/a:1' });
    expect(parseSourceSpec('docker-daemon:app:1')).toEqual({ transport: 'docker-daemon', ref: 'app:1' });
    expect(parseSourceSpec('app:1')).toEqual({ transport: 'bare', ref: 'app:1' });
    expect(() => parseSourceSpec('oci:')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
