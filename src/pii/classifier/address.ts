import { MONTHS_DE, MONTHS_EN } from './gazetteers.js';
import type { Recognizer } from './recognizer.js';
import { contextHit, contextMatcher, type Found, isCapitalised, type Scan } from './text.js';

// ---------------------------------------------------------------- German

/** Endings of one-word German street names ("Hauptstraße", "Lindenweg", "Karl-Marx-Allee"). */
const DE_SUFFIXES = [
  'straße',
  'strasse',
  'str.',
  'str',
  'weg',
  'allee',
  'platz',
  'gasse',
  'ring',
  'damm',
  'ufer',
  'chaussee',
  'steig',
  'pfad',
  'markt',
  'graben',
  'wall',
  'stieg',
  'kamp',
  'twiete',
  'promenade',
  'zeile',
  'deich',
  'anger',
  'kai',
  'gässchen',
  'steg',
  'stiege',
];
/** Endings that are streets only when a postcode and city follow ("Industriepark 7, 06886 Wittenberg"): alone they are often nouns. */
const DE_WEAK_SUFFIXES = [
  'park',
  'hof',
  'berg',
  'feld',
  'garten',
  'tor',
  'gang',
  'winkel',
  'höhe',
  'grund',
  'bogen',
  'wiese',
  'aue',
  'brücke',
  'siedlung',
  'hain',
];
/** Street-type words that follow an adjective ("Berliner Straße", "Alte Gasse"). */
const DE_STREET_WORDS = new Set([
  'Straße',
  'Strasse',
  'Str.',
  'Str',
  'Weg',
  'Allee',
  'Platz',
  'Gasse',
  'Ring',
  'Damm',
  'Ufer',
  'Chaussee',
  'Markt',
  'Steig',
  'Pfad',
  'Graben',
  'Wall',
  'Promenade',
  'Landstraße',
  'Heerstraße',
  'Tor',
  'Brücke',
  'Kai',
  'Hof',
  'Berg',
  'Feld',
  'Garten',
  'Park',
  'Bogen',
]);
/** Words ending like a street that are not streets. */
const DE_NOT_STREETS = new Set(
  (
    'firewall paywall bahnsteig arbeitsplatz parkplatz stellplatz spielplatz sitzplatz steckplatz speicherplatz supermarkt arbeitsmarkt ' +
    'binnenmarkt aktienmarkt wochenmarkt weihnachtsmarkt umweg rückweg heimweg ausweg fußweg hinweg dateipfad lösungsweg zahlungsweg ' +
    'versandweg rechtsweg lieferweg postweg dienstweg string spring offering bring ring schlüsselring ehering flohmarkt stadtring ' +
    'marktplatzring messering'
  ).split(' '),
);
/** Two-word prepositions of German street names ("An der Alster", "Unter den Linden"); one-word ones below. */
const DE_PREPS_2 = new Set(
  'An der|An den|An dem|Auf der|Auf dem|Auf den|In der|In den|Unter den|Unter der|Hinter der|Hinter dem|Hinter den|Vor dem|Vor der|Vor den|Bei der|Über der|Zwischen den|Am Alten|Am Neuen|Am Großen|Am Kleinen|Am Hohen|Zum Alten'.split(
    '|',
  ),
);
const DE_PREPS_1 = new Set(['Am', 'Im', 'Zum', 'Zur', 'Beim', 'Alt', 'Alte', 'Alter', 'Altes', 'Neue', 'Neuer', 'Hohe', 'Große', 'Kleine']);
/** Nouns after "Am"/"Im" that are dates and times, not places ("Am Freitag 5 Pakete", "Im Jahr 2023"). */
const DE_PREP_NOT_PLACES = new Set([
  ...MONTHS_DE,
  ...'Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonnabend Sonntag Wochenende Jahr Jahre Monat Quartal Halbjahr Tag Abend Morgen Vormittag Nachmittag Mittag Ende Anfang Moment Rahmen Anhang Namen Auftrag Vorfeld Schnitt Durchschnitt Zeitraum Sommer Winter Frühjahr Frühling Herbst Vergleich Vorjahr Schnitt Gegensatz Fall Falle Prinzip Grunde Wesentlichen Allgemeinen Übrigen Einzelnen Detail Lager Büro Gebäude Stock Raum Saal Team Vertrieb Support Januar Februar Test Testlauf Zuge Laufe Verlauf Bereich Vorraus Voraus Nachgang Anschluss Folgenden Kapitel Abschnitt Absatz Paragraph Punkt Schritt Teil Level Stufe Runde Spiel Zimmer Etage Geschoss Block Sektor Alter Wert Betrag Mittel Minus Plus Modus Takt Fenster Slot Artikel Posten Regal Fach Termin Gleis Schalter Platz Tisch Ticket Vertrag Angebot Quartal Zeitpunkt Jahrgang Werk Wagen Zug Bus'.split(
    ' ',
  ),
]);
const ADDRESS_CONTEXT_DE = [
  'adresse',
  'anschrift',
  'lieferadresse',
  'rechnungsanschrift',
  'wohnort',
  'wohnhaft',
  'wohnt',
  'lieferung',
  'versand',
  'zustellung',
  'firmensitz',
  'sitz',
  'büro',
];
const ADDRESS_CONTEXT_EN = [
  'address',
  'ship',
  'shipping',
  'deliver',
  'delivery',
  'located',
  'lives',
  'office',
  'home',
  'headquarters',
  'return',
  'warehouse',
];

/** Words that make a preposition form ("Am Markt 3") an address: the category's context words, and "an/in/at/to". */
const ADDRESS_WORDS = contextMatcher([...ADDRESS_CONTEXT_DE, ...ADDRESS_CONTEXT_EN, 'an', 'in', 'at', 'to']);

// House numbers: "5", "12a", "12 a", "3-5", "14/1"; not part of a decimal, date, time or larger number.
const HOUSE_NO = /(?<![\p{L}\p{N}.,/:+#€$£-])\d{1,4}(?: ?[a-zA-Z](?![\p{L}]))?(?: ?[-/] ?\d{1,4}[a-zA-Z]?)?(?![\p{L}\p{N}]|[.,:/]\d)/gu;
// Postcode and city after the street: ", 10115 Berlin", "\n80331 München", ", D-04109 Leipzig", "Frankfurt am Main", "Halle (Saale)".
const DE_TAIL =
  /^,?[ \t]*(?:\r?\n[ \t]*)?(?:D-|DE-)?\d{5}(?!\p{N}) (?:(?:Bad|Sankt|St\.) )?\p{Lu}[\p{L}\p{M}'’-]*(?: (?:am|an der|im|in der|ob der|bei|vor der) \p{Lu}[\p{L}\p{M}-]*| \(\p{Lu}\p{L}*\)|\/\p{Lu}\p{L}*| \p{Lu}[\p{L}\p{M}-]*(?=[,.;)]|\r?\n|$))?/u;

interface Tok {
  start: number;
  end: number;
  text: string;
}

function isTokChar(c: string): boolean {
  return /[\p{L}\p{M}.'’-]/u.test(c);
}

/** Up to n words before pos on the same line, separated by single spaces (nearest last). */
function tokensBefore(text: string, pos: number, n: number): Tok[] {
  const out: Tok[] = [];
  let i = pos;
  while (out.length < n) {
    if (i <= 0 || text[i - 1] !== ' ') break;
    const end = i - 1;
    let s = end;
    while (s > 0 && end - s < 60 && isTokChar(text[s - 1]!)) s--;
    if (s === end || end - s >= 60) break;
    out.unshift({ start: s, end, text: text.slice(s, end) });
    i = s;
  }
  return out;
}

function hasStreetSuffix(word: string, suffixes: readonly string[] = DE_SUFFIXES): boolean {
  const lw = word.toLowerCase();
  if (DE_NOT_STREETS.has(lw)) return false;
  // "Alt-Moabit", "Alt-Tegel": old village centres.
  if (suffixes === DE_SUFFIXES && /^alt-\p{L}/u.test(lw)) return true;
  const lastPart = lw.includes('-') ? lw.slice(lw.lastIndexOf('-') + 1) : undefined;
  if (lastPart !== undefined && suffixes.includes(lastPart)) return true;
  for (const s of suffixes) {
    if (lw.length > s.length + 2 && lw.endsWith(s)) {
      if (s === 'ring' && /(?:[tp]ring|ering|iring)$/.test(lw)) return false;
      return true;
    }
  }
  return false;
}

/** Whether pos starts a sentence (only spaces, after the text start or . ! ? : or a line break). */
function sentenceInitial(text: string, pos: number): boolean {
  let i = pos - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t')) i--;
  return i < 0 || '.!?\n:;"„“'.includes(text[i]!);
}

/**
 * Where the German street name before the house number at pos starts, how sure
 * that is, and whether it needs a postcode and city after it (2), or at least
 * the end of the phrase (1).
 */
function germanStreetStart(scan: Scan, pos: number): { start: number; confidence: number; needsTail: 0 | 1 | 2 } | undefined {
  const toks = tokensBefore(scan.text, pos, 4);
  const n = toks.length;
  if (n === 0) return undefined;
  const t1 = toks[n - 1]!;
  const t2 = toks[n - 2];
  // Prepositional names: "Am Markt", "An der Alster", "Unter den Linden", "Am Alten Markt".
  const prep = (() => {
    for (const k of [2, 3]) {
      // k = index from the end of the first preposition word
      const p1 = toks[n - k - 1];
      const p2 = toks[n - k];
      if (p1 && p2 && DE_PREPS_2.has(`${p1.text} ${p2.text}`)) {
        const nouns = toks.slice(n - k + 1);
        if (nouns.length > 0 && nouns.every((t) => isCapitalised(t.text) && !DE_PREP_NOT_PLACES.has(t.text))) return p1;
      }
    }
    for (const k of [1, 2]) {
      const p = toks[n - k - 1];
      if (p && DE_PREPS_1.has(p.text)) {
        const nouns = toks.slice(n - k);
        if (nouns.every((t) => isCapitalised(t.text) && !DE_PREP_NOT_PLACES.has(t.text) && !t.text.endsWith('.'))) return p;
      }
    }
    return undefined;
  })();
  if (isCapitalised(t1.text) && hasStreetSuffix(t1.text)) {
    // "Alte Hauptstraße 5"
    if (prep !== undefined && prep.start < t1.start) return { start: prep.start, confidence: 0.7, needsTail: 0 };
    return { start: t1.start, confidence: 0.7, needsTail: 0 };
  }
  if (
    DE_STREET_WORDS.has(t1.text) &&
    t2 &&
    isCapitalised(t2.text) &&
    /(?:er|e|en|es|-)$/.test(t2.text) &&
    !DE_PREP_NOT_PLACES.has(t2.text)
  ) {
    if (prep !== undefined && prep.start < t2.start) return { start: prep.start, confidence: 0.7, needsTail: 0 };
    return { start: t2.start, confidence: 0.7, needsTail: 0 };
  }
  if (isCapitalised(t1.text) && hasStreetSuffix(t1.text, DE_WEAK_SUFFIXES)) return { start: t1.start, confidence: 0.7, needsTail: 2 };
  if (prep !== undefined) {
    const initial = sentenceInitial(scan.text, prep.start);
    const context = contextHit(scan.wordsBefore(prep.start, 3), ADDRESS_WORDS);
    return { start: prep.start, confidence: 0.6, needsTail: initial && !context ? 1 : 0 };
  }
  return undefined;
}

export function findGermanAddresses(scan: Scan): Found[] {
  const text = scan.text;
  const out: Found[] = [];
  HOUSE_NO.lastIndex = 0;
  for (let m = HOUSE_NO.exec(text); m !== null; m = HOUSE_NO.exec(text)) {
    const pos = m.index;
    if (text[pos - 1] !== ' ') continue;
    const street = germanStreetStart(scan, pos);
    if (street === undefined) continue;
    let end = pos + m[0].length;
    let confidence = street.confidence;
    const tail = DE_TAIL.exec(text.slice(end, end + 80));
    if (tail !== null) {
      end += tail[0].length;
      confidence = 0.85;
    } else if (street.needsTail === 2) continue;
    // A sentence-initial "Am Markt 3" without postcode must end the phrase ("Am Freitag 5 Pakete" does not).
    else if (street.needsTail === 1 && !/^(?:[,.;:!?)]|\s*$|\s*\n)/.test(text.slice(end, end + 2))) continue;
    out.push({ start: street.start, end, confidence });
    HOUSE_NO.lastIndex = end;
  }
  return out;
}

// ---------------------------------------------------------------- English

const EN_SUFFIXES = new Set(
  (
    'Street St St. Avenue Ave Ave. Road Rd Rd. Lane Ln Ln. Drive Dr Dr. Boulevard Blvd Blvd. Court Ct Ct. Place Pl Pl. Way Terrace Ter ' +
    'Close Crescent Cres Square Sq Parkway Pkwy Highway Hwy Row Mews Loop Circle Cir Walk Gardens Grove Trail Plaza Alley Wharf Quay ' +
    'Embankment Hill Rise Park Broadway Green Parade Esplanade'
  ).split(' '),
);
const DIRECTIONS = new Set(['N', 'S', 'E', 'W', 'NE', 'NW', 'SE', 'SW', 'North', 'South', 'East', 'West']);
const US_STATES = new Set(
  'AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR'.split(
    ' ',
  ),
);
const EN_NOT_STREET_WORDS = new Set([...MONTHS_EN, 'The', 'A', 'An', 'And', 'Or', 'Of', 'In', 'On', 'At', 'To', 'For', 'With', 'Per', 'I']);

const EN_NUMBER = /(?<![\p{L}\p{N}.,/:#$£€-])\d{1,5}[A-Za-z]?(?![\p{L}\p{N}]|[.,:/]\d)/gu;
const EN_WORD = /^(?:\p{Lu}[\p{L}'’-]*\.?|\d{1,3}(?:st|nd|rd|th))(?=[ ,\n.;)]|$)/u;
const UNIT = /^, (?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm)\.? #?[A-Za-z0-9-]{1,6}(?=[ ,\n.;)]|$)/;
const UK_POSTCODE = /^,? [A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}(?![A-Za-z0-9])/;
const US_STATE_ZIP = /^,? ([A-Z]{2})(?: (\d{5}(?:-\d{4})?))?(?![A-Za-z0-9])/;
const CITY_AT_END = /^(, \p{Lu}[\p{L}'’-]*(?: \p{Lu}[\p{L}'’-]*){0,2})(?=[.;\n]|$)/u;
const CITY = /^, (\p{Lu}[\p{L}'’-]*(?: \p{Lu}[\p{L}'’-]*){0,2})(?=[, ])/u;

/** Words after pos on the same line separated by single spaces (at most n). */
function wordsAfter(text: string, pos: number, n: number): Tok[] {
  const out: Tok[] = [];
  let i = pos;
  while (out.length < n && text[i] === ' ') {
    const m = EN_WORD.exec(text.slice(i + 1, i + 40));
    if (m === null) break;
    out.push({ start: i + 1, end: i + 1 + m[0].length, text: m[0] });
    i = i + 1 + m[0].length;
  }
  return out;
}

/** ", Manchester M3 2AY", ", Washington, DC 20500", " NY 10118", ", Springfield, OR 97477": the end of the tail, or -1. */
function englishTail(text: string, pos: number): number {
  const rest = (p: number) => text.slice(p, p + 60);
  const postcodeAt = (p: number): number => {
    const uk = UK_POSTCODE.exec(rest(p));
    if (uk !== null) return p + uk[0].length;
    const us = US_STATE_ZIP.exec(rest(p));
    if (us !== null && US_STATES.has(us[1]!)) return p + us[0].length;
    return -1;
  };
  const direct = postcodeAt(pos);
  if (direct >= 0) return direct;
  const city = CITY.exec(rest(pos));
  if (city === null) return -1;
  return postcodeAt(pos + city[0].length);
}

export function findEnglishAddresses(scan: Scan): Found[] {
  const text = scan.text;
  const out: Found[] = [];
  EN_NUMBER.lastIndex = 0;
  for (let m = EN_NUMBER.exec(text); m !== null; m = EN_NUMBER.exec(text)) {
    const start = m.index;
    const numEnd = start + m[0].length;
    if (text[numEnd] !== ' ') continue;
    const words = wordsAfter(text, numEnd, 6);
    if (words.length === 0 || EN_NOT_STREET_WORDS.has(words[0]!.text)) continue;
    let streetEnd = -1;
    for (let i = 1; i < words.length; i++) {
      const w = words[i]!.text;
      if (EN_NOT_STREET_WORDS.has(w)) break;
      // "Street." at the end of a sentence: the dot is not part of the address.
      const fullStop = !EN_SUFFIXES.has(w) && w.endsWith('.') && EN_SUFFIXES.has(w.slice(0, -1));
      if (EN_SUFFIXES.has(w) || fullStop) {
        streetEnd = words[i]!.end - (fullStop ? 1 : 0);
        const dir = words[i + 1];
        if (dir && DIRECTIONS.has(dir.text)) streetEnd = dir.end;
        break;
      }
    }
    let confidence = 0.6;
    if (streetEnd < 0) {
      // No street-type word: "45 Deansgate, Manchester M3 2AY" needs the city and postcode.
      for (let i = 0; i < Math.min(3, words.length) && streetEnd < 0; i++) {
        if (text[words[i]!.end] === ',' && englishTail(text, words[i]!.end) >= 0) streetEnd = words[i]!.end;
      }
      if (streetEnd < 0) continue;
    }
    let end = streetEnd;
    const unit = UNIT.exec(text.slice(end, end + 30));
    if (unit !== null) end += unit[0].length;
    const tail = englishTail(text, end);
    if (tail >= 0) {
      end = tail;
      confidence = 0.85;
    } else {
      // ", Little Whinging." — a city that ends the sentence.
      const city = CITY_AT_END.exec(text.slice(end, end + 50));
      if (city !== null) end += city[1]!.length;
    }
    if (text[end - 1] === '.' && !EN_SUFFIXES.has(text.slice(text.lastIndexOf(' ', end) + 1, end))) end--;
    out.push({ start, end, confidence });
    EN_NUMBER.lastIndex = end;
  }
  return out;
}

export const germanAddressRecognizer: Recognizer = {
  mayMatch: (p) => p.digits >= 1 && p.letters >= 3,
  id: 'address_de',
  category: 'address',
  method:
    "German street (word ending in -straße/-str./-weg/-allee/-platz/-gasse/-ring..., adjective + 'Straße', or 'Am'/'An der'/'Unter den' + noun) + house number, with optional postcode and city",
  confidence: 0.7,
  context: { de: ADDRESS_CONTEXT_DE, en: ADDRESS_CONTEXT_EN },
  languages: ['de'],
  find: findGermanAddresses,
};

export const englishAddressRecognizer: Recognizer = {
  mayMatch: (p) => p.digits >= 1 && p.letters >= 3,
  id: 'address_en',
  category: 'address',
  method:
    'house number + capitalised street words + street type (Street, St, Avenue, Ave, Road, Lane, Drive...) + optional direction and unit, with optional city and UK postcode or US state + ZIP (a city + postcode tail also stands in for the street type)',
  confidence: 0.6,
  context: { de: ADDRESS_CONTEXT_DE, en: ADDRESS_CONTEXT_EN },
  languages: ['en'],
  find: findEnglishAddresses,
};
