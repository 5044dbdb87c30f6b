/**
 * Decoding of BuildKit progress as the Engine forwards it on `POST /build?version=2`:
 * `{"id":"moby.buildkit.trace","aux":"<base64>"}`, where the payload is a protobuf
 * `moby.buildkit.v1.StatusResponse` (buildkit api/services/control/control.proto). Only the
 * fields a progress display needs are read, by field number, with @bufbuild/protobuf's wire
 * reader; unknown fields are skipped, so newer daemons still decode.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/** A step of the build graph (`Vertex`). */
export interface BuildkitVertex {
  /** Digest identifying the step (field 1). */
  readonly digest: string;
  /** Digests of the steps it depends on (field 2). */
  readonly inputs: readonly string[];
  /** e.g. `[2/3] RUN make` (field 3). */
  readonly name: string;
  /** Result taken from the cache (field 4). */
  readonly cached: boolean;
  /** Start and completion times in ms since the epoch (fields 5, 6). */
  readonly started?: number;
  readonly completed?: number;
  /** Failure message (field 7). */
  readonly error?: string;
}

/** Progress of a sub-task of a step, e.g. bytes of a layer being pulled (`VertexStatus`). */
export interface BuildkitStatus {
  readonly id: string;
  readonly vertex: string;
  readonly name: string;
  readonly current: number;
  readonly total: number;
  readonly completed?: number;
}

/** Output of a step (`VertexLog`): stream 1 stdout, 2 stderr. */
export interface BuildkitLog {
  readonly vertex: string;
  readonly stream: number;
  readonly data: Uint8Array;
}

/** A builder warning (`VertexWarning`). */
export interface BuildkitWarning {
  readonly vertex: string;
  readonly level: number;
  readonly short: string;
  readonly detail: readonly string[];
  readonly url: string;
}

/** A decoded `StatusResponse`. */
export interface BuildkitStatusResponse {
  readonly vertexes: BuildkitVertex[];
  readonly statuses: BuildkitStatus[];
  readonly logs: BuildkitLog[];
  readonly warnings: BuildkitWarning[];
}

const utf8 = new TextDecoder('utf-8');

function toNumber(v: bigint | string): number {
  return typeof v === 'bigint' ? Number(v) : Number(v);
}

/** Reads the length-delimited message at the reader's position as a sub-reader. */
function sub(r: BinaryReader): BinaryReader {
  return new BinaryReader(r.bytes());
}

/** google.protobuf.Timestamp → ms since the epoch. */
function timestamp(r: BinaryReader): number {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.Varint) seconds = toNumber(r.int64());
    else if (no === 2 && wt === WireType.Varint) nanos = r.int32();
    else r.skip(wt, no);
  }
  return seconds * 1000 + Math.floor(nanos / 1e6);
}

function vertex(r: BinaryReader): BuildkitVertex {
  let digest = '';
  const inputs: string[] = [];
  let name = '';
  let cached = false;
  let started: number | undefined;
  let completed: number | undefined;
  let error: string | undefined;
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.LengthDelimited) digest = r.string();
    else if (no === 2 && wt === WireType.LengthDelimited) inputs.push(r.string());
    else if (no === 3 && wt === WireType.LengthDelimited) name = r.string();
    else if (no === 4 && wt === WireType.Varint) cached = r.bool();
    else if (no === 5 && wt === WireType.LengthDelimited) started = timestamp(sub(r));
    else if (no === 6 && wt === WireType.LengthDelimited) completed = timestamp(sub(r));
    else if (no === 7 && wt === WireType.LengthDelimited) error = r.string();
    else r.skip(wt, no);
  }
  return {
    digest,
    inputs,
    name,
    cached,
    ...(started === undefined ? {} : { started }),
    ...(completed === undefined ? {} : { completed }),
    ...(error === undefined || error === '' ? {} : { error }),
  };
}

function status(r: BinaryReader): BuildkitStatus {
  let id = '';
  let vtx = '';
  let name = '';
  let current = 0;
  let total = 0;
  let completed: number | undefined;
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.LengthDelimited) id = r.string();
    else if (no === 2 && wt === WireType.LengthDelimited) vtx = r.string();
    else if (no === 3 && wt === WireType.LengthDelimited) name = r.string();
    else if (no === 4 && wt === WireType.Varint) current = toNumber(r.int64());
    else if (no === 5 && wt === WireType.Varint) total = toNumber(r.int64());
    else if (no === 8 && wt === WireType.LengthDelimited) completed = timestamp(sub(r));
    else r.skip(wt, no);
  }
  return { id, vertex: vtx, name, current, total, ...(completed === undefined ? {} : { completed }) };
}

function log(r: BinaryReader): BuildkitLog {
  let vtx = '';
  let stream = 0;
  let data: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.LengthDelimited) vtx = r.string();
    else if (no === 3 && wt === WireType.Varint) stream = toNumber(r.int64());
    else if (no === 4 && wt === WireType.LengthDelimited) data = r.bytes();
    else r.skip(wt, no);
  }
  return { vertex: vtx, stream, data };
}

function warning(r: BinaryReader): BuildkitWarning {
  let vtx = '';
  let level = 0;
  let short = '';
  const detail: string[] = [];
  let url = '';
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.LengthDelimited) vtx = r.string();
    else if (no === 2 && wt === WireType.Varint) level = toNumber(r.int64());
    else if (no === 3 && wt === WireType.LengthDelimited) short = utf8.decode(r.bytes());
    else if (no === 4 && wt === WireType.LengthDelimited) detail.push(utf8.decode(r.bytes()));
    else if (no === 5 && wt === WireType.LengthDelimited) url = r.string();
    else r.skip(wt, no);
  }
  return { vertex: vtx, level, short, detail, url };
}

/**
 * Decodes one `StatusResponse` from its protobuf bytes.
 * @throws Error from the wire reader when the bytes are not a valid message.
 */
export function decodeStatusResponse(bytes: Uint8Array): BuildkitStatusResponse {
  const r = new BinaryReader(bytes);
  const out: BuildkitStatusResponse = { vertexes: [], statuses: [], logs: [], warnings: [] };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (wt !== WireType.LengthDelimited || no < 1 || no > 4) {
      r.skip(wt, no);
      continue;
    }
    const m = sub(r);
    if (no === 1) out.vertexes.push(vertex(m));
    else if (no === 2) out.statuses.push(status(m));
    else if (no === 3) out.logs.push(log(m));
    else out.warnings.push(warning(m));
  }
  return out;
}

/** Decodes the `aux` of a `moby.buildkit.trace` message (base64 of a StatusResponse). */
export function decodeTraceAux(aux: string): BuildkitStatusResponse {
  return decodeStatusResponse(Buffer.from(aux, 'base64'));
}
