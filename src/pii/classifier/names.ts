import {
  ACADEMIC_TITLES,
  COMPANY_SUFFIXES,
  type Gazetteers,
  gazetteers,
  HONORIFICS_DE,
  HONORIFICS_EN,
  NAME_PARTICLES,
} from './gazetteers.js';
import type { Recognizer } from './recognizer.js';
import { type Found, isCapitalised, mayStartUpper, type Scan } from './text.js';

/** A word for the name recognizers: letters with inner apostrophes and hyphens ("O'Connor", "Anna-Lena"). */
interface NTok {
  start: number;
  end: number;
  text: string;
}

// Hyphen-separated letter runs; the separator is disjoint from the run: linear.
const NAME_WORD = /\p{L}[\p{L}\p{M}'’]*(?:-\p{L}[\p{L}\p{M}'’]*)*/gu;

function nameTokens(scan: Scan): NTok[] {
  return scan.once('name-tokens', () => {
    const out: NTok[] = [];
    NAME_WORD.lastIndex = 0;
    for (let m = NAME_WORD.exec(scan.text); m !== null; m = NAME_WORD.exec(scan.text)) {
      // An English possessive ("Kleppmann's") is not part of the name.
      const text = m[0].length > 3 && /['’]s$/.test(m[0]) ? m[0].slice(0, -2) : m[0];
      out.push({ start: m.index, end: m.index + text.length, text });
    }
    return out;
  });
}

const particles = new Set(NAME_PARTICLES);
const academic = new Set(ACADEMIC_TITLES);
const COMPANY_AFTER = new RegExp(
  `^,? (?:${COMPANY_SUFFIXES.filter((s) => s !== '&' && s !== 'und' && s !== 'and' && s !== 'co').join('|')})(?![\\p{L}])|^ (?:&|\\+) |^ Co\\.`,
  'iu',
);
/** Endings of German abstract and common nouns (not surnames): "Rechnung", "Freiheit", "Gesellschaft". */
const GERMAN_NOUN_ENDING =
  /(?:ung|heit|keit|schaft|tion|ität|nis|tum|ment|ismus|chen|lein|ierung|nahme|gabe|stelle|zeit|arbeit|kosten|preis|nummer|erei|haus|werk|amt|verlag|laden|praxis|gruppe|halle|kanzlei|apotheke)$/;
const STREET_ENDING = /(?:straße|strasse|str\.?|weg|allee|platz|gasse|damm|ufer|chaussee)$/i;
const PLACE_PREPOSITIONS = new Set(['in', 'nach', 'aus', 'from', 'to', 'at', 'bei', 'im', 'near', 'via']);

class NameContext {
  readonly g: Gazetteers;
  readonly toks: NTok[];
  constructor(readonly scan: Scan) {
    this.g = gazetteers();
    this.toks = nameTokens(scan);
  }

  /** Text between token i-1 and token i (for i = 0: the text before it); a long gap is shortened around a line break. */
  gap(i: number): string {
    const t = this.toks[i]!;
    const prevEnd = i > 0 ? this.toks[i - 1]!.end : 0;
    if (t.start - prevEnd > 12) return `${this.scan.text.slice(prevEnd, prevEnd + 6)}\n${this.scan.text.slice(t.start - 6, t.start)}`;
    return this.scan.text.slice(prevEnd, t.start);
  }

  isFirst(w: string): boolean {
    if (w.includes('-')) return w.split('-').every((p) => this.isFirst(p));
    return (this.scan.de && this.g.firstDe.has(w)) || (this.scan.en && this.g.firstEn.has(w));
  }

  isLast(w: string): boolean {
    if (w.includes('-')) return w.split('-').every((p) => this.isLast(p) || this.shape(p));
    return (this.scan.de && this.g.lastDe.has(w)) || (this.scan.en && this.g.lastEn.has(w));
  }

  /** A capitalised word that may be a surname: not a common noun, place, month, street or stopword. */
  shape(w: string): boolean {
    if (!isCapitalised(w) || w.length < 2) return false;
    // CamelCase is a brand or product ("ThinkGeek", "PayPal"), Mc/Mac/O' names aside.
    if (/^\p{Lu}\p{Ll}+\p{Lu}/u.test(w) && !/^(?:Mc|Mac|Fitz|De|Di|La|Le|Van|Von)\p{Lu}/u.test(w)) return false;
    if (this.g.notAName.has(w) || this.g.notAPerson.has(w) || this.g.stopwords.has(w.toLowerCase())) return false;
    if (STREET_ENDING.test(w)) return false;
    const lw = w.toLowerCase();
    if (lw.length > 6 && GERMAN_NOUN_ENDING.test(lw) && !this.isLast(w)) return false;
    return true;
  }

  /** Whether token i starts a sentence (text start, or after . ! ? : or a line break). */
  sentenceInitial(i: number): boolean {
    if (i === 0) return /^[\s"„“'(-]*$/.test(this.scan.text.slice(0, this.toks[0]!.start));
    return /[.!?:\n]/.test(this.gap(i));
  }

  /** Words i and j are adjacent parts of one name: separated by spaces on one line (or ". " after an initial). */
  joined(j: number): boolean {
    const gap = this.gap(j);
    return /^[ \t]{1,2}$/.test(gap) || (/^\. ?$/.test(gap) && this.toks[j - 1]!.text.length === 1);
  }

  /** Whether a company suffix follows offset end ("Hugo Boss AG", "Baker & Sons"). */
  companyAfter(end: number): boolean {
    return COMPANY_AFTER.test(this.scan.text.slice(end, end + 12));
  }

  /** Whether the name at start is the second half of a company name ("Johnson & Johnson", "Müller + Partner"). */
  companyBefore(start: number): boolean {
    return /[&+] $/.test(this.scan.text.slice(Math.max(0, start - 3), start));
  }

  /** Whether the word can start a name whose first name is unknown ("Ayşe Kaya"): shape, and not a German role noun ("Kollegin"). */
  unknownFirst(w: string): boolean {
    return this.shape(w) && !(w.length > 5 && /(?:in|innen|er|ung|ei|ant|ent|ist|eur|or)$/.test(w)) && !/\./.test(w);
  }

  /**
   * The name parts from token i on: capitalised words (surname shape), initials and
   * particles between them; at most 4 words. Returns the index of the last part, or -1.
   */
  nameParts(i: number, firstMustBeName: boolean): number {
    const t0 = this.toks[i];
    if (t0 === undefined) return -1;
    const ok0 = firstMustBeName ? this.isFirst(t0.text) || this.isLast(t0.text) || this.shape(t0.text) : this.shape(t0.text);
    if (!ok0 || !isCapitalised(t0.text) || this.g.notAName.has(t0.text)) return -1;
    let last = i;
    let parts = 1;
    for (let j = i + 1; j < this.toks.length && parts < 4; j++) {
      if (!this.joined(j)) break;
      const w = this.toks[j]!.text;
      if (particles.has(w) && j + 1 < this.toks.length && this.joined(j + 1) && isCapitalised(this.toks[j + 1]!.text)) continue;
      if (particles.has(w)) break;
      if (w.length === 1 && /\p{Lu}/u.test(w) && this.scan.text[this.toks[j]!.end] === '.') {
        parts++;
        continue;
      }
      if (!(this.isLast(w) || this.isFirst(w) || this.shape(w))) break;
      if (this.g.notAName.has(w)) break;
      last = j;
      parts++;
    }
    // A trailing initial is not part of the name.
    return last;
  }
}

function honorificSets(scan: Scan): Set<string> {
  const s = new Set<string>();
  if (scan.de) for (const h of HONORIFICS_DE) s.add(h);
  if (scan.en) for (const h of HONORIFICS_EN) s.add(h);
  return s;
}

/** name_title: the capitalised words after an honorific ("Herr", "Frau", "Hr.", "Dr.", "Mr", "Mrs", "Ms"...), titles skipped. */
export function findTitledNames(scan: Scan): Found[] {
  const nc = new NameContext(scan);
  const hon = honorificSets(scan);
  const out: Found[] = [];
  const toks = nc.toks;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (!mayStartUpper(t.text) || t.text.length > 8 || !isCapitalised(t.text) || !hon.has(t.text.toLowerCase())) continue;
    let j = i + 1;
    // Titles after the honorific: "Frau Dr. Schwarz", "Herr Prof. Dr. Neumann", "Dr. med. Keller".
    while (j < toks.length && academic.has(toks[j]!.text.toLowerCase()) && /^\.?[ \t]{1,2}$/.test(nc.gap(j))) j++;
    if (j >= toks.length || !/^\.?[ \t]{1,2}$/.test(nc.gap(j))) continue;
    const last = nc.nameParts(j, true);
    if (last < 0) continue;
    const start = toks[j]!.start;
    const end = toks[last]!.end;
    if (nc.companyAfter(end)) continue;
    out.push({ start, end, confidence: 0.85 });
    i = last;
  }
  return out;
}

/** name_gazetteer: a known first name, followed by a surname (gazetteer or shape), or alone when unambiguous. */
export function findGazetteerNames(scan: Scan): Found[] {
  const nc = new NameContext(scan);
  const toks = nc.toks;
  const g = nc.g;
  const out: Found[] = [];
  for (let i = 0; i < toks.length; i++) {
    const w = toks[i]!.text;
    if (!mayStartUpper(w) || !isCapitalised(w) || !nc.isFirst(w)) continue;
    const ambiguous = w.split('-').some((p) => g.ambiguousFirst.has(p));
    // Further first names and initials, then the surname.
    let surname = -1;
    let known = false;
    let lastKnown = false;
    for (let k = i + 1; k < toks.length && k - i <= 3; k++) {
      if (!nc.joined(k)) break;
      const v = toks[k]!.text;
      if (v.length === 1 && /\p{Lu}/u.test(v) && scan.text[toks[k]!.end] === '.') continue;
      if (particles.has(v) && k + 1 < toks.length && nc.joined(k + 1) && isCapitalised(toks[k + 1]!.text)) continue;
      const isKnownLast = nc.isLast(v) && !g.notAName.has(v);
      const isOtherFirst = nc.isFirst(v) && !g.ambiguousFirst.has(v) && !g.notAName.has(v);
      if (isKnownLast || isOtherFirst) {
        surname = k;
        known = true;
        lastKnown = isKnownLast;
        continue;
      }
      if (surname < 0 && nc.shape(v)) {
        surname = k;
        known = false;
      }
      break;
    }
    if (surname >= 0) {
      const sw = toks[surname]!.text;
      const strong = lastKnown && !g.ambiguousFirst.has(sw);
      const accept = ambiguous ? strong || (known && !nc.sentenceInitial(i)) : true;
      const end = toks[surname]!.end;
      if (accept && !nc.companyAfter(end) && !nc.companyBefore(toks[i]!.start)) {
        out.push({ start: toks[i]!.start, end, confidence: known ? 0.85 : 0.7 });
        i = surname;
        continue;
      }
      if (ambiguous) continue;
    }
    if (ambiguous || g.notAPerson.has(w)) continue;
    // A lone first name: not a place ("in Paris"), not part of a company name.
    const prev = i > 0 ? toks[i - 1]!.text.toLowerCase() : '';
    if (PLACE_PREPOSITIONS.has(prev) && nc.joined(i)) continue;
    if (nc.companyAfter(toks[i]!.end) || nc.companyBefore(toks[i]!.start)) continue;
    out.push({ start: toks[i]!.start, end: toks[i]!.end, confidence: 0.5 });
  }
  // An unknown first name before a known surname ("Ayşe Kaya", "Wei Zhang" if Zhang were known).
  for (let i = 1; i < toks.length; i++) {
    const w = toks[i]!.text;
    if (!mayStartUpper(w) || !isCapitalised(w) || !nc.isLast(w) || g.notAName.has(w) || !nc.joined(i)) continue;
    const p = toks[i - 1]!.text;
    if (nc.isFirst(p) || !nc.unknownFirst(p) || nc.sentenceInitial(i - 1)) continue;
    if (nc.companyAfter(toks[i]!.end) || nc.companyBefore(toks[i - 1]!.start)) continue;
    out.push({ start: toks[i - 1]!.start, end: toks[i]!.end, confidence: 0.6 });
  }
  return out;
}

/** Words after which a name follows (labels end with ':'; closings are followed by ',' or a line break). */
const NAME_TRIGGERS_DE = [
  'name',
  'kontakt',
  'ansprechpartner',
  'ansprechpartnerin',
  'kontaktperson',
  'inhaber',
  'inhaberin',
  'karteninhaber',
  'karteninhaberin',
  'kontoinhaber',
  'kontoinhaberin',
  'absender',
  'absenderin',
  'empfänger',
  'empfängerin',
  'unterschrift',
  'patient',
  'patientin',
  'kunde',
  'kundin',
  'mitarbeiter',
  'mitarbeiterin',
  'kollege',
  'kollegin',
  'sachbearbeiter',
  'sachbearbeiterin',
  'bewerber',
  'bewerberin',
  'teilnehmer',
  'teilnehmerin',
  'lieferanschrift',
  'lieferadresse',
  'rechnungsempfänger',
  'vertragspartner',
  'vertragspartnerin',
  'zahlungsempfänger',
  'überweisungsempfänger',
  'anrufer',
  'anruferin',
  'versand an',
  'z. hd',
  'z.hd',
  'zu händen',
  'hallo',
  'hi',
  'liebe',
  'lieber',
  'danke',
  'gebucht von',
  'erstellt von',
  'mit freundlichen grüßen',
  'freundliche grüße',
  'viele grüße',
  'beste grüße',
  'liebe grüße',
  'grüße',
  'gruß',
  'mein name ist',
  'ich bin',
  'lieferantin',
  'lieferant',
  'personalien',
  'von',
];
const NAME_TRIGGERS_EN = [
  'name',
  'contact',
  'customer',
  'client',
  'employee',
  'applicant',
  'patient',
  'payee',
  'beneficiary',
  'cardholder',
  'sender',
  'recipient',
  'signed',
  'signature',
  'attendees',
  'attendee',
  'from',
  'to',
  'by',
  'ask',
  'dear',
  'hi',
  'hello',
  'hey',
  'thanks',
  'thank you',
  'regards',
  'best regards',
  'kind regards',
  'best wishes',
  'cheers',
  'sincerely',
  'yours',
  'best',
  'my name is',
  'i am',
  'reference',
  'forward this to',
  'ship to',
  'approved by',
  'requested by',
  'submitted by',
  'call',
  'cc',
  'cfo',
  'ceo',
  'cto',
  'manager',
  'hired',
];

/** Trigger words so common that the name after them must start with a known first name. */
const WEAK_TRIGGERS = new Set([
  'from',
  'to',
  'by',
  'ask',
  'call',
  'cc',
  'hired',
  'reference',
  'bin',
  'am',
  'danke',
  'thanks',
  'von',
  'this',
  'best',
  'yours',
]);

/** The trigger words of each language choice (de, en, both), split once per process. */
const triggerSets = new Map<string, { single: Set<string>; phrases: string[][] }>();

function triggerSet(scan: Scan): { single: Set<string>; phrases: string[][] } {
  const key = `${scan.de ? 'de' : ''}${scan.en ? 'en' : ''}`;
  let set = triggerSets.get(key);
  if (set === undefined) {
    const single = new Set<string>();
    const phrases: string[][] = [];
    const all = [...(scan.de ? NAME_TRIGGERS_DE : []), ...(scan.en ? NAME_TRIGGERS_EN : [])];
    for (const t of all) {
      const parts = t.split(/[\s.]+/).filter((p) => p !== '');
      if (parts.length === 1) single.add(parts[0]!);
      else phrases.push(parts);
    }
    triggerSets.set(key, (set = { single, phrases }));
  }
  return set;
}

/** name_context: capitalised words after a label or closing ("Name:", "Kontakt:", "Regards,", "Mit freundlichen Grüßen"). */
export function findContextNames(scan: Scan): Found[] {
  const nc = new NameContext(scan);
  const toks = nc.toks;
  const { single, phrases } = triggerSet(scan);
  const out: Found[] = [];
  for (let i = 1; i < toks.length; i++) {
    if (!mayStartUpper(toks[i]!.text)) continue;
    const gap = nc.gap(i);
    // Between the trigger and the name: spaces, ':' or ',' and at most one line break.
    if (!/^[ \t]*[:,]?[ \t]*(?:\r?\n[ \t]*)?$/.test(gap) || gap === '') continue;
    const prev = toks[i - 1]!.text.toLowerCase();
    let trig = single.has(prev);
    if (!trig) {
      for (const p of phrases) {
        if (p[p.length - 1] !== prev || i < p.length) continue;
        let ok = true;
        for (let k = 0; k < p.length - 1 && ok; k++) ok = toks[i - p.length + k]!.text.toLowerCase() === p[k];
        if (ok) {
          trig = true;
          break;
        }
      }
    }
    if (!trig) continue;
    const w = toks[i]!.text;
    if (!isCapitalised(w) || nc.g.notAName.has(w) || nc.g.notAPerson.has(w)) continue;
    // After a weak trigger word ("by", "to", "ask") the name must start with a known first name.
    if (WEAK_TRIGGERS.has(prev) && !/[:,\n]/.test(gap) && !nc.isFirst(w)) continue;
    let last = nc.nameParts(i, true);
    if (last < 0) continue;
    const label = gap.includes(':');
    // "Name: Mustermann, Max": surname, comma, known first name.
    if (label && last === i && last + 1 < toks.length && nc.gap(last + 1) === ', ' && nc.isFirst(toks[last + 1]!.text)) last++;
    let end = toks[last]!.end;
    if (nc.companyAfter(end)) continue;
    const known = nc.isFirst(w) || nc.isLast(w);
    out.push({ start: toks[i]!.start, end, confidence: known ? 0.8 : 0.7 });
    i = last;
    // A list after a label ("Teilnehmer: A B, C D und E F"): further names of two or more words.
    while (label && i + 1 < toks.length && /^(?:, | und | and | & )$/.test(nc.gap(i + 1))) {
      const k = i + 1;
      const kl = nc.nameParts(k, true);
      if (kl <= k || !(nc.isFirst(toks[k]!.text) || nc.unknownFirst(toks[k]!.text))) break;
      end = toks[kl]!.end;
      if (nc.companyAfter(end)) break;
      out.push({ start: toks[k]!.start, end, confidence: 0.7 });
      i = kl;
    }
  }
  return out;
}

const NAME_CONTEXT_DE = [
  'herr',
  'herrn',
  'frau',
  'name',
  'kontakt',
  'ansprechpartner',
  'ansprechpartnerin',
  'kunde',
  'kundin',
  'mitarbeiter',
  'mitarbeiterin',
  'inhaber',
  'unterschrift',
  'grüße',
  'gruß',
];
const NAME_CONTEXT_EN = [
  'mr',
  'mrs',
  'ms',
  'name',
  'contact',
  'customer',
  'signed',
  'regards',
  'dear',
  'employee',
  'applicant',
  'sincerely',
];

export const titledNameRecognizer: Recognizer = {
  mayMatch: (p) => p.upper > 0,
  id: 'name_title',
  category: 'name',
  method:
    'honorific (Herr, Frau, Hr., Fr., Dr., Prof., Mr, Mrs, Ms, Miss, Mx, Sir) + optional academic titles + 1-4 capitalised name words; the value excludes the honorific',
  confidence: 0.85,
  context: { de: NAME_CONTEXT_DE, en: NAME_CONTEXT_EN },
  find: findTitledNames,
};

export const gazetteerNameRecognizer: Recognizer = {
  mayMatch: (p) => p.upper > 0,
  id: 'name_gazetteer',
  category: 'name',
  method:
    'first-name gazetteer (faker de/en, @stdlib English first names) + surname from the last-name gazetteer or of surname shape; a first name that is also a common word (Mark, Will, Rose) needs a known surname; an unambiguous first name alone has low confidence',
  confidence: 0.7,
  context: { de: NAME_CONTEXT_DE, en: NAME_CONTEXT_EN },
  find: findGazetteerNames,
};

export const contextNameRecognizer: Recognizer = {
  mayMatch: (p) => p.upper > 0,
  id: 'name_context',
  category: 'name',
  method:
    'capitalised name words after a label or closing (Name:, Kontakt:, Ansprechpartner, Kunde, Mit freundlichen Grüßen, Regards, Dear, Hallo, contact, signed ...)',
  confidence: 0.7,
  context: { de: NAME_CONTEXT_DE, en: NAME_CONTEXT_EN },
  find: findContextNames,
};
