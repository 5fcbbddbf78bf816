/**
 * Precision and recall of the PII classifier per category over the labelled
 * corpus test/fixtures/pii/corpus.jsonl (docs/pii-classifier-quality.md).
 *
 * Scoring: a prediction is a true positive iff a labelled entity of the same
 * category has the same span; for name and address, spans that overlap and
 * whose overlap covers at least 50% of the longer one also count. Each label
 * is matched at most once. `PII_CORPUS_VERBOSE=1` prints every miss.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Classifier, type PiiMatch } from '../../src/pii/classifier/index.js';

interface Entity {
  category: string;
  value: string;
  start?: number;
}
interface Sample {
  lang: 'de' | 'en';
  text: string;
  entities: Entity[];
}
interface Span {
  category: string;
  start: number;
  end: number;
}

/** corpus.jsonl was written before the recognizers; heldout.jsonl after them, and scored before any tuning on it. */
const FILES = ['corpus.jsonl', 'heldout.jsonl'] as const;
const CATEGORIES = ['email', 'phone', 'iban', 'credit_card', 'name', 'address', 'ip_address', 'date_of_birth'] as const;
const FUZZY = new Set(['name', 'address']);

/** Goals per category: [precision, recall]. */
const GOALS: Record<(typeof CATEGORIES)[number], [number, number]> = {
  email: [0.98, 0.98],
  iban: [0.98, 0.98],
  credit_card: [0.98, 0.98],
  phone: [0.95, 0.95],
  name: [0.85, 0.85],
  address: [0.85, 0.85],
  ip_address: [0.9, 0.9],
  date_of_birth: [0.9, 0.9],
};

function loadCorpus(file: string): Sample[] {
  return readFileSync(new URL(`../fixtures/pii/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Sample);
}

function labelledSpans(s: Sample): Span[] {
  return s.entities.map((e) => {
    const start = e.start ?? s.text.indexOf(e.value);
    if (start < 0 || s.text.slice(start, start + e.value.length) !== e.value) {
      throw new Error(`corpus: '${e.value}' not found in: ${s.text}`);
    }
    return { category: e.category, start, end: start + e.value.length };
  });
}

function matches(p: Span, l: Span): boolean {
  if (p.category !== l.category) return false;
  if (p.start === l.start && p.end === l.end) return true;
  if (!FUZZY.has(p.category)) return false;
  const overlap = Math.min(p.end, l.end) - Math.max(p.start, l.start);
  const longer = Math.max(p.end - p.start, l.end - l.start);
  return overlap > 0 && overlap >= 0.5 * longer;
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

function scoreCorpus(classifier: Classifier, samples: Sample[], verbose = false): Map<string, Counts> {
  const counts = new Map<string, Counts>(CATEGORIES.map((c) => [c, { tp: 0, fp: 0, fn: 0 }]));
  for (const s of samples) {
    const labels = labelledSpans(s);
    const predicted: PiiMatch[] = classifier.classify(s.text);
    const used = new Set<number>();
    for (const p of predicted) {
      const c = counts.get(p.category);
      if (c === undefined) continue;
      const k = labels.findIndex((l, i) => !used.has(i) && matches(p, l));
      if (k >= 0) {
        used.add(k);
        c.tp++;
      } else {
        c.fp++;
        if (verbose) console.log(`FP ${p.category} '${p.value}' (${p.rule}) in: ${s.text}`);
      }
    }
    labels.forEach((l, i) => {
      if (used.has(i)) return;
      counts.get(l.category)!.fn++;
      if (verbose) console.log(`FN ${l.category} '${s.text.slice(l.start, l.end)}' in: ${s.text}`);
    });
  }
  return counts;
}

const ratio = (a: number, b: number): number => (b === 0 ? 1 : a / b);

function qualityTable(counts: Map<string, Counts>): string {
  const rows = [
    '| category | labelled | TP | FP | FN | precision | recall | goal (P/R) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const cat of CATEGORIES) {
    const c = counts.get(cat)!;
    const p = ratio(c.tp, c.tp + c.fp);
    const r = ratio(c.tp, c.tp + c.fn);
    const [gp, gr] = GOALS[cat];
    rows.push(`| ${cat} | ${c.tp + c.fn} | ${c.tp} | ${c.fp} | ${c.fn} | ${p.toFixed(3)} | ${r.toFixed(3)} | ${gp} / ${gr} |`);
  }
  return rows.join('\n');
}

describe('PII classifier corpus', () => {
  const parts = FILES.map((f) => ({ file: f, samples: loadCorpus(f) }));
  const samples = parts.flatMap((p) => p.samples);

  it('is a corpus of at least 300 German and English sentences with positives of every category', () => {
    expect(samples.length).toBeGreaterThanOrEqual(300);
    const de = samples.filter((s) => s.lang === 'de').length;
    expect(de / samples.length).toBeGreaterThan(0.4);
    expect(de / samples.length).toBeLessThan(0.6);
    const per = new Map<string, number>();
    for (const s of samples) {
      labelledSpans(s);
      for (const e of s.entities) per.set(e.category, (per.get(e.category) ?? 0) + 1);
    }
    for (const c of ['email', 'phone', 'iban', 'credit_card', 'name', 'address']) expect(per.get(c) ?? 0).toBeGreaterThanOrEqual(30);
    for (const c of ['ip_address', 'date_of_birth']) expect(per.get(c) ?? 0).toBeGreaterThanOrEqual(10);
  });

  it('meets the precision and recall goals per category', () => {
    const classifier = new Classifier();
    const verbose = process.env.PII_CORPUS_VERBOSE === '1';
    for (const p of parts) {
      console.log(
        `PII classifier quality, ${p.file} (${p.samples.length} sentences):\n${qualityTable(scoreCorpus(classifier, p.samples, verbose))}\n`,
      );
    }
    const counts = scoreCorpus(classifier, samples);
    console.log(`PII classifier quality, all (${samples.length} sentences):\n${qualityTable(counts)}`);
    const failures: string[] = [];
    for (const cat of CATEGORIES) {
      const c = counts.get(cat)!;
      const p = ratio(c.tp, c.tp + c.fp);
      const r = ratio(c.tp, c.tp + c.fn);
      const [gp, gr] = GOALS[cat];
      if (p < gp) failures.push(`${cat} precision ${p.toFixed(3)} < ${gp}`);
      if (r < gr) failures.push(`${cat} recall ${r.toFixed(3)} < ${gr}`);
    }
    expect(failures).toEqual([]);
  });
});
