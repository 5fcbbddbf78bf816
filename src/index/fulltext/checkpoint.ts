import { CheckpointReader, CheckpointWriter } from '../checkpoint-io.js';
import { MemoryIndex, PostingList } from './postings.js';

/**
 * Checkpoint file of a fulltext index's in-memory side: documents (key,
 * length) and every posting list as flat little-endian arrays, with the
 * change-log sequence number it reflects and a CRC-32 of the whole file.
 * Loading one is a few large copies instead of one LevelDB entry per
 * posting; the commits after `seq` are replayed from the change log.
 *
 *   "THFT" u32 version | u32 index id | u32 n, config JSON | f64 seq
 *   u32 documents, then per document: u32 n, key utf8, i32 length
 *   u32 terms, then per term: u32 n, term utf8, u32 len,
 *       i32 docs[len] (document ordinals), i32 tfs[len], i32 positions[Σ tfs]
 *   u32 CRC-32 of everything before
 */
const MAGIC = 0x54484654; // "THFT"
const VERSION = 1;

export interface CheckpointContent {
  indexId: number;
  config: string;
  seq: number;
  mem: MemoryIndex;
}

/** The sequence number a checkpoint reflects, read from its first bytes (no checksum: for choosing files to back up, not for loading). */
export function checkpointSeq(head: Buffer): number {
  const r = new CheckpointReader(head);
  if (r.u32() !== MAGIC) throw new Error('not a fulltext checkpoint');
  if (r.u32() !== VERSION) throw new Error('unknown checkpoint version');
  r.u32();
  r.str();
  return r.f64();
}

/** Serialise (synchronously: a consistent cut of the in-memory index). */
export function encodeCheckpoint(c: CheckpointContent): Buffer {
  const { mem } = c;
  const w = new CheckpointWriter(1024 + mem.postings * 16);
  w.u32(MAGIC);
  w.u32(VERSION);
  w.u32(c.indexId);
  w.str(c.config);
  w.f64(c.seq);
  // documents in number order, renumbered densely (order kept, so posting lists stay sorted)
  const ordinal = new Int32Array(mem.docCapacity).fill(-1);
  w.u32(mem.n);
  let next = 0;
  for (let doc = 0; doc < mem.docCapacity; doc++) {
    const key = mem.docKeys[doc];
    if (key === undefined) continue;
    ordinal[doc] = next++;
    w.str(key);
    w.i32(mem.docLen[doc]!);
  }
  w.u32(mem.terms.size);
  // scratch for one list's columns (most lists are short: no arrays per term)
  let docs = new Int32Array(1024);
  let tfs = new Int32Array(1024);
  for (const [term, pl] of mem.terms) {
    const n = pl.len;
    w.str(term);
    w.u32(n);
    if (n > docs.length) {
      docs = new Int32Array(n);
      tfs = new Int32Array(n);
    }
    let positions = 0;
    // the positions are usually one block in posting order (appends): then one copy
    let contiguous = true;
    const first = n > 0 ? pl.offAt(0) : 0;
    for (let i = 0; i < n; i++) {
      docs[i] = ordinal[pl.docAt(i)]!;
      if (pl.offAt(i) !== first + positions) contiguous = false;
      positions += tfs[i] = pl.tfAt(i);
    }
    w.ints(docs, 0, n);
    w.ints(tfs, 0, n);
    w.u32(positions);
    if (contiguous) w.ints(pl.buf, first, positions);
    else for (let i = 0; i < n; i++) w.ints(pl.buf, pl.offAt(i), tfs[i]!);
  }
  return w.done();
}

/** Parse and check a checkpoint; throws on any corruption (CRC, structure, document references). */
export function decodeCheckpoint(file: Buffer): CheckpointContent {
  const r = CheckpointReader.checked(file);
  if (r.u32() !== MAGIC) throw new Error('not a fulltext checkpoint');
  if (r.u32() !== VERSION) throw new Error('unknown checkpoint version');
  const indexId = r.u32();
  const config = r.str();
  const seq = r.f64();
  const mem = new MemoryIndex();
  const nDocs = r.u32();
  for (let i = 0; i < nDocs; i++) {
    const key = r.str();
    if (mem.loadDoc(key, r.i32()) !== i) throw new Error('checkpoint repeats a document');
  }
  const nTerms = r.u32();
  for (let t = 0; t < nTerms; t++) {
    const term = r.str();
    const len = r.u32();
    const docs = r.ints(len);
    const tfs = r.ints(len);
    const positions = r.ints(r.u32());
    for (let i = 0; i < len; i++)
      if (docs[i]! < 0 || docs[i]! >= nDocs || (i > 0 && docs[i]! <= docs[i - 1]!) || tfs[i]! < 1)
        throw new Error('checkpoint posting list is malformed');
    mem.loadList(term, PostingList.fromArrays(docs, tfs, positions));
  }
  if (!r.done) throw new Error('checkpoint has trailing bytes');
  return { indexId, config, seq, mem };
}
