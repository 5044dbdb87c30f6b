/**
 * The work behind `imgtool history` and `imgtool inspect`: open the source, gather facts,
 * build the report (src/layers/report.ts documents the JSON), render it as a table or JSON,
 * and turn a malformed config or a failed CI gate into the right exit code.
 */
import { ImgtoolError } from '../image/errors.js';
import { digestOf, shortDigest } from '../image/digest.js';
import { analyzeLayers } from '../layers/analysis.js';
import { factsOf, scanLayers } from '../layers/gather.js';
import { buildHistoryReport, buildInspectReport, type Gates, type HistoryReport, type InspectReport } from '../layers/report.js';
import { parseSourceSpec } from '../layers/source-spec.js';
import { humanSize } from '../layers/units.js';
import { openSource } from './layer-sources.js';
import { log, printJson, printResult, type CliRuntime } from './runtime.js';

/** Options of `imgtool history`. */
export interface HistoryCommandOptions {
  readonly noTrunc?: boolean;
  readonly json?: boolean;
  readonly platform?: string;
  /** Registry sources: stream layers to compute uncompressed sizes. */
  readonly uncompressed?: boolean;
}

/** Options of `imgtool inspect`. */
export interface InspectCommandOptions {
  readonly json?: boolean;
  readonly platform?: string;
  readonly gates: Gates;
  /** Rows of wasted files and biggest files in the table output. */
  readonly top?: number;
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd()).join('\n');
}

function truncate(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/** Computes the history report of `imageArg`. */
export async function historyReport(rt: CliRuntime, imageArg: string, options: HistoryCommandOptions): Promise<HistoryReport> {
  const spec = parseSourceSpec(imageArg);
  const opened = await openSource(rt, spec, options.platform === undefined ? {} : { platform: options.platform });
  try {
    const now = new Date();
    if (opened.kind === 'daemon') {
      const { daemonHistory } = await import('../engine/image-source.js');
      const dh = await daemonHistory(opened.engine, opened.name, rt.signal);
      return buildHistoryReport({
        image: opened.source,
        ...(opened.resolvedFrom ? { resolvedFrom: opened.resolvedFrom } : {}),
        config: dh.config,
        layers: dh.config.rootfs.diff_ids.map((diffId, i) => ({ diffId, ...(dh.sizes[i] === undefined ? {} : { size: dh.sizes[i] }) })),
        sizeOrigin: 'engine',
        layerMapping: dh.mapping,
        configDigest: dh.inspect.Id,
        now,
      });
    }
    const { image } = opened;
    const [config, layers, rawConfig] = await Promise.all([image.config(rt.signal), image.layers(rt.signal), image.rawConfig(rt.signal)]);
    // Local sources are cheap to read: sizes are computed by streaming each layer and counting.
    const compute = opened.transport !== 'docker' || options.uncompressed === true;
    const sizes = compute ? (await scanLayers(image, layers, { signal: rt.signal, entries: false })).map((l) => l.contentSize) : undefined;
    return buildHistoryReport({
      image: image.source,
      ...(opened.resolvedFrom ? { resolvedFrom: opened.resolvedFrom } : {}),
      config,
      layers: factsOf(layers, sizes),
      sizeOrigin: compute ? 'computed' : 'unavailable',
      configDigest: digestOf(rawConfig),
      ...(opened.manifestDigest === undefined ? {} : { manifestDigest: opened.manifestDigest }),
      now,
    });
  } finally {
    await opened.close();
  }
}

/** Renders a history report like `docker history`. */
export function renderHistory(report: HistoryReport, noTrunc: boolean): string {
  const withCompressed = report.sizes.compressed;
  const head = ['LAYER', 'CREATED', 'CREATED BY', 'SIZE', ...(withCompressed ? ['COMPRESSED'] : []), 'CUMULATIVE', 'COMMENT'];
  const size = (n: number | undefined): string => (n === undefined ? '?' : humanSize(n));
  const rows = report.rows.map((r) => [
    r.layer ? (noTrunc ? r.layer.diffId : shortDigest(r.layer.diffId)) : '<empty layer>',
    r.createdRelative ?? '',
    noTrunc ? r.createdBy : truncate(r.createdBy, 45),
    r.emptyLayer ? '0B' : size(r.layer?.size),
    ...(withCompressed ? [r.layer?.compressedSize === undefined ? '-' : humanSize(r.layer.compressedSize)] : []),
    r.cumulativeSize === undefined ? '?' : humanSize(r.cumulativeSize),
    noTrunc ? (r.comment ?? '') : truncate(r.comment ?? '', 30),
  ]);
  const t = report.totals;
  const parts = [
    `${t.layers} layers, ${t.entries} history entries (${t.emptyLayers} empty)`,
    t.size === undefined ? 'uncompressed size unknown (add --uncompressed to stream the layers and count)' : `${humanSize(t.size)} uncompressed`,
    ...(t.compressedSize === undefined ? [] : [`${humanSize(t.compressedSize)} compressed`]),
  ];
  return `${table([head, ...rows])}\ntotal: ${parts.join(', ')}`;
}

/** `imgtool history`. */
export async function runHistory(rt: CliRuntime, imageArg: string, options: HistoryCommandOptions): Promise<void> {
  const report = await historyReport(rt, imageArg, options);
  if (options.json) printJson(rt, report);
  else printResult(rt, renderHistory(report, options.noTrunc === true));
  if (report.malformed) {
    throw new ImgtoolError('CONFIG_INVALID', report.malformed.message, {
      hint: 'the rows above are matched as far as possible; the image config is inconsistent and should be rebuilt',
    });
  }
}

/** Computes the inspect report of `imageArg`. */
export async function inspectReport(rt: CliRuntime, imageArg: string, options: InspectCommandOptions): Promise<InspectReport> {
  const spec = parseSourceSpec(imageArg);
  const opened = await openSource(rt, spec, options.platform === undefined ? {} : { platform: options.platform });
  try {
    if (opened.kind === 'daemon') {
      const { daemonScan } = await import('../engine/image-source.js');
      const scanned = await daemonScan(opened.engine, opened.name, rt.signal);
      const analysis = analyzeLayers(scanned.listings, { top: 10 });
      return buildInspectReport({
        image: opened.source,
        ...(opened.resolvedFrom ? { resolvedFrom: opened.resolvedFrom } : {}),
        config: scanned.config,
        layers: scanned.config.rootfs.diff_ids.map((diffId, i) => ({ diffId, size: scanned.listings[i]?.contentSize ?? 0 })),
        tarSizes: scanned.listings.map((l) => l.tarSize),
        analysis,
        gates: options.gates,
        configDigest: digestOf(scanned.configBytes),
      });
    }
    const { image } = opened;
    const [config, layers, rawConfig] = await Promise.all([image.config(rt.signal), image.layers(rt.signal), image.rawConfig(rt.signal)]);
    const listings = await scanLayers(image, layers, { signal: rt.signal });
    const analysis = analyzeLayers(listings, { top: 10 });
    return buildInspectReport({
      image: image.source,
      ...(opened.resolvedFrom ? { resolvedFrom: opened.resolvedFrom } : {}),
      config,
      layers: factsOf(
        layers,
        listings.map((l) => l.contentSize),
      ),
      tarSizes: listings.map((l) => l.tarSize),
      analysis,
      gates: options.gates,
      configDigest: digestOf(rawConfig),
      ...(opened.manifestDigest === undefined ? {} : { manifestDigest: opened.manifestDigest }),
    });
  } finally {
    await opened.close();
  }
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function gateText(g: InspectReport['gates'][number]): string {
  const fmt = (n: number): string => (g.gate === 'min-efficiency' ? pct(n) : humanSize(n));
  const rel = g.gate === 'min-efficiency' ? '≥' : '≤';
  return `${g.gate}: ${fmt(g.actual)} (limit ${rel} ${fmt(g.limit)})`;
}

/** Renders an inspect report for humans. */
export function renderInspect(report: InspectReport, top: number): string {
  const out: string[] = [];
  out.push(`image:       ${report.image} (${report.platform})`);
  out.push(
    `total size:  ${humanSize(report.totalBytes)} in ${report.layers.length} layers` +
      (report.compressedBytes === undefined ? '' : `, ${humanSize(report.compressedBytes)} compressed`),
  );
  out.push(`wasted:      ${humanSize(report.wastedBytes)} (${report.wasted.length} file versions hidden by later layers)`);
  out.push(`efficiency:  ${pct(report.efficiency)}`);
  out.push('');
  const count = (c: { count: number; bytes: number }): string => (c.count === 0 ? '-' : `${c.count} (${humanSize(c.bytes)})`);
  out.push(
    table([
      ['LAYER', 'SIZE', 'ADDED', 'CHANGED', 'REMOVED', 'CREATED BY'],
      ...report.layers.map((l) => [
        String(l.index),
        humanSize(l.size),
        count(l.added),
        count(l.changed),
        l.removed.paths.length === 0 ? '-' : `${l.removed.paths.length} paths, ${l.removed.files} files (${humanSize(l.removed.bytes)})`,
        truncate(l.createdBy ?? '', 50),
      ]),
    ]),
  );
  if (report.biggest.length > 0) {
    out.push('', 'biggest files:');
    for (const f of report.biggest.slice(0, top)) out.push(`  ${humanSize(f.size).padStart(8)}  /${f.path}`);
  }
  if (report.wasted.length > 0) {
    out.push('', `wasted space (${Math.min(top, report.wasted.length)} of ${report.wasted.length}, largest first):`);
    for (const w of report.wasted.slice(0, top)) {
      out.push(`  ${humanSize(w.size).padStart(8)}  /${w.path}  (layer ${w.layer}, ${w.how} by layer ${w.hiddenBy})`);
    }
  }
  if (report.gates.length > 0) {
    out.push('', 'gates:');
    for (const g of report.gates) out.push(`  ${g.passed ? 'PASS' : 'FAIL'}  ${gateText(g)}`);
  }
  return out.join('\n');
}

/** `imgtool inspect`. */
export async function runInspect(rt: CliRuntime, imageArg: string, options: InspectCommandOptions): Promise<void> {
  const report = await inspectReport(rt, imageArg, options);
  if (options.json) printJson(rt, report);
  else printResult(rt, renderInspect(report, options.top ?? 20));
  const failed = report.gates.filter((g) => !g.passed);
  if (failed.length > 0) {
    for (const g of failed) log(rt, `gate failed: ${gateText(g)}`);
    throw new ImgtoolError('GATE_FAILED', `${failed.length} of ${report.gates.length} gates failed: ${failed.map((g) => g.gate).join(', ')}`, {
      details: { gates: failed },
      hint: 'reduce the image (delete files in the layer that creates them, not a later one) or adjust the limits',
    });
  }
}
