import { parse } from 'csv-parse/sync';
import { auditEntry } from '../helpers/audit.js';
import { describe, expect, it } from 'vitest';
import { type AuditEntry, CSV_COLUMNS, csvHeader, csvRows, csvSafeText, csvUnescapeText } from '../../src/audit/index.js';

/** The CSV of audit entries (src/audit/csv.ts): RFC 4180 quoting and CSV-injection escaping. */

const entry = auditEntry;

describe('audit CSV', () => {
  it("csvSafeText prefixes a cell starting with = + - @ tab CR or ' with one quote, and only those", () => {
    for (const s of ['=1+2', '+1', '-1', '@SUM(A1)', '\tx', '\rx', "'x", '=HYPERLINK("http://x","y")', '＝1+2', '＋1', '－1', '＠x']) {
      expect(csvSafeText(s)).toBe(`'${s}`);
      expect(csvUnescapeText(csvSafeText(s))).toBe(s);
    }
    for (const s of ['', 'a=1', 'abc', ' =1', '1-2', 'x@y', 'ümlaut', '\nx', '"=1"']) {
      expect(csvSafeText(s)).toBe(s);
      expect(csvUnescapeText(csvSafeText(s))).toBe(s);
    }
  });

  it('header and rows: CRLF line ends, quoting, booleans as true/false, null as empty, numbers unescaped', () => {
    expect(csvHeader()).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
    expect(CSV_COLUMNS.slice(0, 7)).toEqual(['id', 'timestamp', 'user', 'userId', 'action', 'entityType', 'entityId']);
    const hostile = entry({
      id: 7,
      user: "=cmd|' /C calc'!A0",
      entityId: 't:a,"b"\r\nc ☃',
      success: false,
      seq: -3,
      errorMessage: '@x',
      newValue: '{"a":"b,c"}',
    });
    const text = csvRows([hostile, entry({ id: 8 })]);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text).toContain('"t:a,""b""\r\nc ☃"');
    // A bare LF or CR is quoted too (a reader splitting lines on either must not see a new record).
    expect(csvRows([entry({ entityId: 't:a\nb', route: 'x\ry' })])).toContain('"t:a\nb"');
    expect(csvRows([entry({ entityId: 't:a\nb', route: 'x\ry' })])).toContain('"x\ry"');
    const rows = parse(csvHeader() + text, { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      id: '7',
      user: "'=cmd|' /C calc'!A0",
      entityId: 't:a,"b"\r\nc ☃',
      success: 'false',
      seq: '-3', // a number, not text: not escaped
      errorMessage: "'@x",
      oldValue: '',
      newValue: '{"a":"b,c"}',
    });
    expect(rows[1]).toMatchObject({ id: '8', success: 'true', seq: '', statusCode: '200' });
    expect(csvRows([])).toBe('');
  });
});
