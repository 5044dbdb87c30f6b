/**
 * Byte sizes for humans: docker's decimal rendering (`1.98MB`, `3.22kB`) and a parser for gate
 * limits that accepts both decimal (kB, MB, GB, TB = powers of 1000) and binary units (KiB,
 * MiB, GiB, TiB = powers of 1024), so `--max-size 500MB` means what `docker images` shows.
 */
import { ImgtoolError } from '../image/errors.js';

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Size as the docker CLI prints it (go-units HumanSizeWithPrecision(size, 3)). */
export function humanSize(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < DECIMAL.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${DECIMAL[i]}`;
}

const UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Parses `1234`, `500MB`, `1.5GiB`, `20 kB`; throws USAGE naming `flag` otherwise. */
export function parseSize(input: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = m?.[2]?.toLowerCase() ?? '';
  const factor = unit === '' ? 1 : UNITS[unit];
  if (!m || factor === undefined) {
    throw new ImgtoolError('USAGE', `${flag}: ${JSON.stringify(input)} is not a size`, {
      hint: 'use bytes or a number with a unit: 500MB, 1.5GiB, 200kB (kB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024)',
    });
  }
  return Math.round(Number(m[1]) * factor);
}

/** Parses a ratio in 0..1 (or a percentage like `90%`) for `--min-efficiency`. */
export function parseRatio(input: string, flag: string): number {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(input);
  const v = pct ? Number(pct[1]) / 100 : Number(input);
  if (input.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) {
    throw new ImgtoolError('USAGE', `${flag}: ${JSON.stringify(input)} is not a number between 0 and 1`, { hint: 'e.g. --min-efficiency 0.9 or 90%' });
  }
  return v;
}
