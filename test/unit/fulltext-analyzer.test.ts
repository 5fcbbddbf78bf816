import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ThemisError } from '../../src/errors.js';
import {
  ARRAY_POSITION_GAP,
  Analyzer,
  DEFAULT_FULLTEXT_CONFIG,
  MAX_TERM_LENGTH,
  fieldTexts,
  parseFulltextConfig,
  type FulltextConfig,
} from '../../src/index/fulltext/index.js';
import { codeOfSync } from '../helpers/errors.js';

const analyzer = (c: Partial<FulltextConfig> = {}) => new Analyzer({ ...DEFAULT_FULLTEXT_CONFIG, ...c });
/** [surface, pos, start, end] of every token. */
const spans = (a: Analyzer, text: string, firstPos?: number) => a.tokens(text, firstPos).map((t) => [t.surface, t.pos, t.start, t.end]);
/** The terms of every token (null for removed ones). */
const terms = (a: Analyzer, text: string) => a.tokens(text).map((t) => t.term);
/** analyze() as a plain object, terms sorted, for toEqual. */
const analyzed = (a: Analyzer, texts: string[]) => {
  const r = a.analyze(texts);
  return { length: r.length, terms: Object.fromEntries([...r.terms].sort(([x], [y]) => (x < y ? -1 : 1))) };
};

describe('Analyzer tokenizer', () => {
  const plain = analyzer();

  it('splits on punctuation and spaces, keeps offsets into the original text and numbers positions', () => {
    const text = "Hello, World!  foo-bar_baz 42x (don't)";
    expect(spans(plain, text)).toEqual([
      ['hello', 0, 0, 5],
      ['world', 1, 7, 12],
      ['foo', 2, 15, 18],
      ['bar', 3, 19, 22],
      ['baz', 4, 23, 26],
      ['42x', 5, 27, 30],
      ['don', 6, 32, 35],
      ['t', 7, 36, 37],
    ]);
    // offsets slice the original (un-normalised) words
    for (const t of plain.tokens(text)) expect(text.slice(t.start, t.end).toLowerCase()).toBe(t.surface);
  });

  it('treats Unicode letters and digits of any script as word characters', () => {
    expect(spans(plain, 'Ünïcödé 東京 Ελλάδα ٣٤ abc123 x²')).toEqual([
      ['ünïcödé', 0, 0, 7],
      ['東京', 1, 8, 10],
      ['ελλάδα', 2, 11, 17],
      ['٣٤', 3, 18, 20],
      ['abc123', 4, 21, 27],
      ['x²', 5, 28, 30],
    ]);
    expect(plain.tokens('  ,.;!? -- ')).toEqual([]);
    expect(plain.tokens('')).toEqual([]);
  });

  it('starts positions at firstPos and increments by one per token', () => {
    expect(spans(plain, 'a b c', 10).map((s) => s[1])).toEqual([10, 11, 12]);
  });

  it('lowercases and NFC-normalises; a decomposed umlaut is one token whose offsets cover both code points', () => {
    const [t] = plain.tokens('U\u0308ber');
    expect(t).toEqual({ term: 'über', surface: 'über', pos: 0, start: 0, end: 5 });
    expect(plain.term('u\u0308')).toBe('ü');
    expect(plain.term('u\u0308')).toBe(plain.term('Ü'));
    expect(plain.normalize('ÄÖÜ')).toBe('äöü');
  });
});

describe('Analyzer: English', () => {
  it('stems with Porter only when stemming is enabled', () => {
    const stem = analyzer({ stemming_enabled: true });
    expect(['running', 'connections', 'connected', 'Runs', 'foxes'].map((w) => stem.term(w))).toEqual([
      'run',
      'connect',
      'connect',
      'run',
      'fox',
    ]);
    expect(['running', 'connections'].map((w) => analyzer().term(w))).toEqual(['running', 'connections']);
  });

  it("removes natural's English stopwords only when enabled; removed tokens keep their position", () => {
    const stop = analyzer({ stopwords_enabled: true });
    expect(terms(stop, 'The cat and the hat')).toEqual([null, 'cat', null, null, 'hat']);
    expect(terms(analyzer(), 'The cat and the hat')).toEqual(['the', 'cat', 'and', 'the', 'hat']);
    // surfaces and positions survive removal
    expect(stop.tokens('The cat and the hat').map((t) => [t.surface, t.pos])).toEqual([
      ['the', 0],
      ['cat', 1],
      ['and', 2],
      ['the', 3],
      ['hat', 4],
    ]);
    expect(analyzed(stop, ['The cat and the hat'])).toEqual({ length: 2, terms: { cat: [1], hat: [4] } });
    expect(analyzed(analyzer(), ['The cat and the hat'])).toEqual({ length: 5, terms: { and: [2], cat: [1], hat: [4], the: [0, 3] } });
  });

  it('adds custom stopwords (normalised) to the language list, only when stopwords are enabled', () => {
    const custom = analyzer({ stopwords_enabled: true, stopwords: ['Foo', 'u\u0308ber'] });
    expect(terms(custom, 'the foo über bar')).toEqual([null, null, null, 'bar']);
    // language none: only the custom list
    expect(terms(analyzer({ language: 'none', stopwords_enabled: true, stopwords: ['foo'] }), 'the foo bar')).toEqual(['the', null, 'bar']);
    // disabled: the custom list is not used either
    expect(terms(analyzer({ stopwords: ['foo'] }), 'the foo bar')).toEqual(['the', 'foo', 'bar']);
  });

  it('checks stopwords before stemming and stems the rest', () => {
    const both = analyzer({ stemming_enabled: true, stopwords_enabled: true });
    expect(terms(both, 'The dogs are running over the hills')).toEqual([null, 'dog', null, 'run', null, null, 'hill']);
  });
});

describe('Analyzer: German', () => {
  const de = (c: Partial<FulltextConfig> = {}) => analyzer({ language: 'de', ...c });

  it('stems with the Snowball German stemmer', () => {
    const a = de({ stemming_enabled: true });
    expect(['Häuser', 'Hauser', 'Haus', 'laufen'].map((w) => a.term(w))).toEqual(['haus', 'haus', 'haus', 'lauf']);
    expect(de().term('Häuser')).toBe('häuser');
  });

  it('removes the stopwords-iso German list (not the English one)', () => {
    expect(terms(de({ stopwords_enabled: true }), 'Der Hund und die Katze the')).toEqual([null, 'hund', null, null, 'katze', 'the']);
    expect(terms(de(), 'Der Hund und')).toEqual(['der', 'hund', 'und']);
  });

  it('normalize_umlauts folds ä ö ü ß and spelled-out ae oe ue', () => {
    const a = de({ normalize_umlauts: true });
    for (const group of [
      ['Müller', 'Mueller', 'muller', 'MU\u0308LLER'],
      ['Straße', 'Strasse', 'STRASSE'],
      ['Bär', 'Baer', 'bar'],
      ['Öl', 'Oel', 'ol'],
    ]) {
      const ts = group.map((w) => a.term(w));
      expect(new Set(ts).size, group.join('/')).toBe(1);
    }
    expect(a.term('Müller')).toBe('muller');
    expect(a.term('Straße')).toBe('strasse');
    expect(a.term('GROẞ')).toBe('gross');
    // with stemming: still equal
    const s = de({ normalize_umlauts: true, stemming_enabled: true });
    expect(new Set(['Müller', 'Mueller', 'muller'].map((w) => s.term(w))).size).toBe(1);
    // umlaut-normalised stopwords still match: "für" and "fuer" both go
    expect(terms(de({ normalize_umlauts: true, stopwords_enabled: true }), 'für fuer Haus')).toEqual([null, null, 'haus']);
  });

  it('without normalize_umlauts the spellings stay distinct', () => {
    const a = de();
    expect(new Set(['Müller', 'Mueller', 'muller'].map((w) => a.term(w))).size).toBe(3);
    expect(a.term('Straße')).not.toBe(a.term('Strasse'));
  });
});

describe('Analyzer.analyze', () => {
  const plain = analyzer();

  it('collects ascending positions per term and counts indexed tokens', () => {
    expect(analyzed(plain, ['a b a c a'])).toEqual({ length: 5, terms: { a: [0, 2, 4], b: [1], c: [3] } });
    expect(analyzed(plain, [])).toEqual({ length: 0, terms: {} });
    expect(analyzed(plain, ['...'])).toEqual({ length: 0, terms: {} });
  });

  it('puts ARRAY_POSITION_GAP between array elements (after the last position of the previous one)', () => {
    expect(ARRAY_POSITION_GAP).toBe(100);
    const g = ARRAY_POSITION_GAP;
    expect(analyzed(plain, ['a b', 'c', 'b d'])).toEqual({
      length: 5,
      terms: { a: [0], b: [1, 2 * g + 3], c: [g + 2], d: [2 * g + 4] },
    });
    // an element without tokens still adds a gap
    expect(analyzed(plain, ['a', '', 'b'])).toEqual({ length: 2, terms: { a: [0], b: [2 * g + 1] } });
  });

  it('excludes stopwords from the length but not from the positions', () => {
    const stop = analyzer({ stopwords_enabled: true });
    expect(analyzed(stop, ['the fox', 'and the dog'])).toEqual({ length: 2, terms: { fox: [1], dog: [ARRAY_POSITION_GAP + 4] } });
  });

  it('skips tokens longer than MAX_TERM_LENGTH but lets them consume a position', () => {
    const long = 'x'.repeat(MAX_TERM_LENGTH + 1);
    const max = 'y'.repeat(MAX_TERM_LENGTH);
    expect(analyzed(plain, [`a ${long} b ${max}`])).toEqual({ length: 3, terms: { a: [0], b: [2], [max]: [3] } });
    expect(plain.term(long)).toBeNull();
    expect(plain.tokens(long)).toEqual([{ term: null, surface: long, pos: 0, start: 0, end: MAX_TERM_LENGTH + 1 }]);
  });

  it('applies the same pipeline as term()', () => {
    const a = analyzer({ stemming_enabled: true, stopwords_enabled: true });
    const text = 'The Connections are RUNNING to the connected hosts';
    const expected = new Map<string, number[]>();
    for (const t of a.tokens(text)) if (t.term !== null) expected.set(t.term, [...(expected.get(t.term) ?? []), t.pos]);
    expect(a.analyze([text]).terms).toEqual(expected);
    expect(expected.get('connect')).toEqual([1, 6]);
  });
});

describe('fieldTexts', () => {
  it('accepts strings, finite numbers and arrays of those; nothing else', () => {
    expect(fieldTexts('hi there')).toEqual(['hi there']);
    expect(fieldTexts('')).toEqual(['']);
    expect(fieldTexts(42)).toEqual(['42']);
    expect(fieldTexts(-3.5)).toEqual(['-3.5']);
    expect(fieldTexts(['a', 1, null, true, { x: 'y' }, ['nested'], NaN, 'b'])).toEqual(['a', '1', 'b']);
    for (const v of [undefined, null, true, false, { a: 'b' }, NaN, Infinity, -Infinity, 10n]) expect(fieldTexts(v), String(v)).toEqual([]);
    expect(fieldTexts([])).toEqual([]);
  });
});

describe('Analyzer: all-ASCII texts (found without Unicode tables or NFC)', () => {
  // A no-break space is no word character but not ASCII: appended, it sends the same text down the Unicode path.
  const configs: Partial<FulltextConfig>[] = [
    {},
    { language: 'en', stemming_enabled: true, stopwords_enabled: true },
    { language: 'de', normalize_umlauts: true, stemming_enabled: true },
    { normalize_umlauts: true, stopwords: ['Quelle', 'and'] },
  ];
  const asciiText = fc
    .array(
      fc.oneof(
        fc.constantFrom(' ', ',', '-', '_', "'", '\n', '\t', '.', '0', '9', 'ae', 'Ue', 'oe', 'The', 'AND', 'running'),
        fc.string({ unit: 'binary-ascii', maxLength: 4 }),
      ),
      { maxLength: 30 },
    )
    .map((parts) => parts.join(''));
  for (const c of configs) {
    it(`analyze() gives the same terms and positions as the Unicode path (${JSON.stringify(c)})`, () => {
      const a = analyzer(c);
      fc.assert(
        fc.property(fc.array(asciiText, { minLength: 1, maxLength: 3 }), (texts) => {
          expect(analyzed(a, texts)).toEqual(
            analyzed(
              a,
              texts.map((t) => `${t}\u00a0`),
            ),
          );
        }),
        { numRuns: 400, seed: 3 },
      );
    });
  }
});

describe('parseFulltextConfig', () => {
  /** [code, details.field] of what parseFulltextConfig(raw) throws. */
  const failure = (raw: unknown): [string, unknown] => {
    try {
      parseFulltextConfig(raw);
    } catch (e) {
      if (e instanceof ThemisError) return [e.code, e.details?.field];
      return ['non-themis', String(e)];
    }
    return ['no error', undefined];
  };

  it('defaults: en, k1 1.2, b 0.75, no stemming, no stopwords, no umlaut folding', () => {
    const expected = {
      language: 'en',
      stemming_enabled: false,
      stopwords_enabled: false,
      stopwords: [],
      normalize_umlauts: false,
      k1: 1.2,
      b: 0.75,
    };
    expect(parseFulltextConfig(undefined)).toEqual(expected);
    expect(parseFulltextConfig(null)).toEqual(expected);
    expect(parseFulltextConfig({})).toEqual(expected);
  });

  it('takes every valid field and dedupes custom stopwords', () => {
    const raw = {
      language: 'de',
      stemming_enabled: true,
      stopwords_enabled: true,
      stopwords: ['a', 'b', 'a'],
      normalize_umlauts: true,
      k1: 0,
      b: 1,
    };
    expect(parseFulltextConfig(raw)).toEqual({ ...raw, stopwords: ['a', 'b'] });
    expect(parseFulltextConfig({ k1: 10, b: 0 })).toMatchObject({ k1: 10, b: 0 });
    expect(parseFulltextConfig({ language: 'none' }).language).toBe('none');
    expect(parseFulltextConfig({ stopwords: ['z'.repeat(MAX_TERM_LENGTH)] }).stopwords).toHaveLength(1);
  });

  it('language alone turns on its stemmer and stopwords; an explicit false still turns either off (issue 20)', () => {
    const flags = (raw: unknown) => {
      const c = parseFulltextConfig(raw);
      return [c.language, c.stemming_enabled, c.stopwords_enabled];
    };
    expect(flags({ language: 'en' })).toEqual(['en', true, true]);
    expect(flags({ language: 'de' })).toEqual(['de', true, true]);
    expect(flags({ language: 'de', normalize_umlauts: true, stopwords: ['foo'] })).toEqual(['de', true, true]);
    expect(flags({ language: 'en', stemming_enabled: false })).toEqual(['en', false, true]);
    expect(flags({ language: 'en', stopwords_enabled: false })).toEqual(['en', true, false]);
    expect(flags({ language: 'de', stemming_enabled: false, stopwords_enabled: false })).toEqual(['de', false, false]);
    // language none has neither; without language (default en) both stay off unless asked for
    expect(flags({ language: 'none' })).toEqual(['none', false, false]);
    expect(flags({ language: 'none', stopwords: ['acme'] })).toEqual(['none', false, false]);
    expect(flags({})).toEqual(['en', false, false]);
    expect(flags({ stemming_enabled: true })).toEqual(['en', true, false]);
    expect(flags({ stopwords_enabled: true })).toEqual(['en', false, true]);
    expect(flags({ k1: 2 })).toEqual(['en', false, false]);
  });

  it('refuses a config that is not an object', () => {
    for (const raw of [1, 'x', true, [], [1]]) expect(failure(raw), JSON.stringify(raw)).toEqual(['VALIDATION_FAILED', 'config']);
  });

  const invalid: Record<string, unknown[]> = {
    language: ['fr', 'EN', 1, null, ''],
    stemming_enabled: ['yes', 1, null],
    stopwords_enabled: ['true', 0],
    normalize_umlauts: [1, 'no'],
    k1: [-0.1, 10.01, '1', NaN, Infinity, null],
    b: [-0.01, 1.01, '0.5', NaN, null],
    stopwords: ['the', [1], [''], ['x'.repeat(MAX_TERM_LENGTH + 1)], { a: 1 }, null, Array(10_001).fill('w')],
  };
  it.each(Object.keys(invalid))('refuses an invalid %s with details.field config.<name>', (field) => {
    for (const v of invalid[field]!)
      expect(failure({ [field]: v }), `${field}=${JSON.stringify(v)?.slice(0, 40)}`).toEqual(['VALIDATION_FAILED', `config.${field}`]);
  });

  it('refuses stemming without a language and unknown keys', () => {
    expect(failure({ language: 'none', stemming_enabled: true })).toEqual(['VALIDATION_FAILED', 'config.stemming_enabled']);
    expect(codeOfSync(() => parseFulltextConfig({ language: 'none', stemming_enabled: false }))).toBe('no error');
    expect(failure({ k1: 1, stemmer: 'porter' })).toEqual(['VALIDATION_FAILED', 'config.stemmer']);
    expect(failure({ K1: 1 })).toEqual(['VALIDATION_FAILED', 'config.K1']);
  });
});
