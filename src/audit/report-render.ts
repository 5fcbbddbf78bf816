import { CSV_OPTIONS, csvSafeText } from './csv.js';
import { stringify } from 'csv-stringify/sync';
import PDFDocument from 'pdfkit';
import type { AuditReport, ComplianceReport } from './reports.js';

/**
 * The reports as CSV and PDF (docs/audit.md, "Reports"). CSV: RFC 4180 via
 * csv-stringify, CSV-injection safe. PDF: pdfkit with its built-in
 * Helvetica (no font files), A4, tables and a bar chart of the timeline.
 */

/** A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`. */
export function csvSafe(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'number' ? String(v) : csvSafeText(String(v));
}

/** The audit report's groups as CSV rows: `<group_by>,count,failed,success_rate`. */
export function auditReportCsv(r: AuditReport): string {
  const rows: unknown[][] = [[r.group_by, 'count', 'failed', 'success_rate']];
  for (const g of r.groups)
    rows.push([g.key, g.count, g.failed, g.count === 0 ? '' : Math.round(((g.count - g.failed) / g.count) * 10_000) / 10_000]);
  return stringify(
    rows.map((row) => row.map(csvSafe)),
    CSV_OPTIONS,
  );
}

// ------------------------------------------------------------------ PDF

const MARGIN = 50;
const PAGE_W = 595.28; // A4
const CONTENT_W = PAGE_W - 2 * MARGIN;
const ACCENT = '#1f4e79';
const GRID = '#c8d2dc';

type Doc = PDFKit.PDFDocument;

function toBuffer(build: (doc: Doc) => void, title: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4', margin: MARGIN, info: { Title: title, Producer: 'ThemisTS', Creator: 'ThemisTS' } });
    const parts: Buffer[] = [];
    doc.on('data', (b: Buffer) => parts.push(b));
    doc.on('end', () => resolve(Buffer.concat(parts)));
    doc.on('error', reject);
    try {
      build(doc);
      doc.end();
    } catch (e) {
      reject(e);
    }
  });
}

function header(doc: Doc, title: string, period: { start: string; end: string }, generated: string): void {
  doc.fillColor(ACCENT).font('Helvetica-Bold').fontSize(20).text(title, MARGIN, MARGIN);
  doc.moveDown(0.3);
  doc.fillColor('#333333').font('Helvetica').fontSize(10);
  doc.text(`Period: ${period.start}  to  ${period.end}  (UTC, inclusive)`);
  doc.text(`Generated: ${generated} by ThemisTS`);
  const y = doc.y + 6;
  doc
    .moveTo(MARGIN, y)
    .lineTo(PAGE_W - MARGIN, y)
    .lineWidth(1)
    .strokeColor(ACCENT)
    .stroke();
  doc.y = y + 12;
}

function section(doc: Doc, title: string): void {
  ensureSpace(doc, 60);
  doc.moveDown(0.5);
  doc.fillColor(ACCENT).font('Helvetica-Bold').fontSize(13).text(title, MARGIN, doc.y);
  doc.moveDown(0.3);
}

function ensureSpace(doc: Doc, h: number): void {
  if (doc.y + h > doc.page.height - MARGIN) doc.addPage();
}

/** A table: a header row, then rows; `widths` are fractions of the content width, `align` per column. */
function table(doc: Doc, head: string[], rows: string[][], widths: number[], align: ('left' | 'right')[]): void {
  const rowH = 16;
  const xs: number[] = [];
  let x = MARGIN;
  for (const w of widths) {
    xs.push(x);
    x += w * CONTENT_W;
  }
  const drawRow = (cells: string[], bold: boolean, shade: boolean) => {
    ensureSpace(doc, rowH);
    const y = doc.y;
    if (shade) doc.rect(MARGIN, y, CONTENT_W, rowH).fill(bold ? '#e4ebf2' : '#f6f8fa');
    doc
      .fillColor('#222222')
      .font(bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(9.5);
    cells.forEach((c, i) => {
      const w = widths[i]! * CONTENT_W - 10;
      doc.text(c, xs[i]! + 5, y + 4, { width: w, align: align[i] ?? 'left', lineBreak: false, ellipsis: true, height: rowH });
    });
    doc
      .moveTo(MARGIN, y + rowH)
      .lineTo(MARGIN + CONTENT_W, y + rowH)
      .lineWidth(0.5)
      .strokeColor(GRID)
      .stroke();
    doc.y = y + rowH;
  };
  drawRow(head, true, true);
  if (rows.length === 0) drawRow(['(none)', ...head.slice(1).map(() => '')], false, false);
  for (let i = 0; i < rows.length; i++) drawRow(rows[i]!, false, i % 2 === 1);
  doc.x = MARGIN;
}

/** Key/value pairs as a two-column table. */
function kv(doc: Doc, pairs: [string, string][]): void {
  table(
    doc,
    ['Figure', 'Value'],
    pairs.map(([k, v]) => [k, v]),
    [0.6, 0.4],
    ['left', 'right'],
  );
}

/** The timeline as vertical bars with a y axis (max and half) and first/last bucket labels. */
function barChart(doc: Doc, points: { timestamp: string; event_count: number }[], bucket: string): void {
  const h = 150;
  ensureSpace(doc, h + 50);
  const top = doc.y + 6;
  const left = MARGIN + 36;
  const width = CONTENT_W - 36;
  const max = Math.max(1, ...points.map((p) => p.event_count));
  doc.font('Helvetica').fontSize(8).fillColor('#555555');
  for (const f of [0, 0.5, 1]) {
    const y = top + h - f * h;
    doc
      .moveTo(left, y)
      .lineTo(left + width, y)
      .lineWidth(0.5)
      .strokeColor(GRID)
      .stroke();
    doc.text(String(Math.round(f * max)), MARGIN, y - 4, { width: 32, align: 'right', lineBreak: false });
  }
  const n = Math.max(1, points.length);
  const slot = width / n;
  const barW = Math.min(36, Math.max(0.5, slot * 0.8));
  points.forEach((p, i) => {
    const bh = (p.event_count / max) * h;
    if (bh > 0) doc.rect(left + i * slot + (slot - barW) / 2, top + h - bh, barW, bh).fill(ACCENT);
  });
  doc
    .moveTo(left, top + h)
    .lineTo(left + width, top + h)
    .lineWidth(1)
    .strokeColor('#333333')
    .stroke();
  doc.fillColor('#555555').fontSize(8);
  if (points.length > 0) {
    const label = (t: string) => (bucket === 'day' ? t.slice(0, 10) : `${t.slice(0, 10)} ${t.slice(11, 16)}`);
    doc.text(label(points[0]!.timestamp), left, top + h + 4, { lineBreak: false });
    if (points.length > 1)
      doc.text(label(points[points.length - 1]!.timestamp), left + width - 120, top + h + 4, {
        width: 120,
        align: 'right',
        lineBreak: false,
      });
  }
  doc.text(`events per ${bucket} (${points.length} buckets, UTC)`, left, top + h + 16, { width, align: 'center', lineBreak: false });
  doc.x = MARGIN;
  doc.y = top + h + 32;
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);

export function auditReportPdf(r: AuditReport, generated = new Date().toISOString()): Promise<Buffer> {
  return toBuffer((doc) => {
    header(doc, 'Audit Report', r.period, generated);
    section(doc, 'Summary');
    const s = r.summary;
    kv(doc, [
      ['Total events', String(s.total_events)],
      ['Successful events', String(s.successful_events)],
      ['Failed events', String(s.failed_events)],
      ['Success rate', pct(s.success_rate)],
      ['Unique users', String(s.unique_users)],
      ['Unique entities', String(s.unique_entities)],
    ]);
    if (r.capped)
      doc
        .font('Helvetica-Oblique')
        .fontSize(8)
        .fillColor('#555555')
        .text('Some counters reached their key limit: unique counts are lower bounds.');
    section(doc, `Timeline (events per ${r.bucket})`);
    barChart(doc, r.timeline, r.bucket);
    section(doc, 'Top actions');
    table(
      doc,
      ['Action', 'Events', 'Success rate'],
      r.top_actions.map((a) => [a.action, String(a.count), pct(a.success_rate)]),
      [0.6, 0.2, 0.2],
      ['left', 'right', 'right'],
    );
    section(doc, 'Top users');
    table(
      doc,
      ['User', 'Events', 'Failed'],
      r.top_users.map((u) => [u.user ?? '(unauthenticated)', String(u.action_count), String(u.failed_count)]),
      [0.6, 0.2, 0.2],
      ['left', 'right', 'right'],
    );
  }, 'Audit Report');
}

export function complianceReportPdf(r: ComplianceReport, generated = new Date().toISOString()): Promise<Buffer> {
  return toBuffer((doc) => {
    header(doc, 'Compliance Report', r.period, generated);
    doc.fillColor(ACCENT).font('Helvetica-Bold').fontSize(16).text(`Compliance score: ${r.compliance_score} / 100`, MARGIN, doc.y);
    doc.moveDown(0.2);
    const note = (t: string | null) => {
      if (!t) return;
      ensureSpace(doc, 24);
      doc
        .font('Helvetica-Oblique')
        .fontSize(8)
        .fillColor('#555555')
        .text(t, MARGIN, doc.y + 4, { width: CONTENT_W });
    };
    section(doc, 'Score deductions');
    table(
      doc,
      ['Reason', 'Points'],
      r.score_deductions.map((d) => [d.reason, `-${d.points}`]),
      [0.8, 0.2],
      ['left', 'right'],
    );
    const yes = (b: boolean) => (b ? 'yes' : 'no');
    section(doc, 'PII processing');
    const p = r.pii_processing;
    kv(doc, [
      ['PII records (vault)', String(p.total_pii_records)],
      ['Erased (crypto-shredded)', String(p.erased_records ?? 0)],
      ['Tables with a PII policy', String(p.pii_policies ?? 0)],
      ['Documents with PII detected', String(p.detected_in_writes ?? 0)],
      ['PII access events', String(p.pii_access_events)],
      ['PII deletion events', String(p.pii_deletion_events)],
      ['Pseudonymization active', yes(p.pseudonymization_active)],
      ['Encryption enabled', yes(p.encryption_enabled)],
    ]);
    note(p.note);
    section(doc, 'Retention');
    const rt = r.retention;
    kv(doc, [
      ['Policies active', String(rt.policies_active)],
      ['Auto-deletion enabled', yes(rt.auto_deletion_enabled)],
      ['Records deleted in period', String(rt.records_deleted_in_period)],
      ['Audit log retention', rt.audit_log_policy ? `${rt.audit_log_policy.retention_days} days` : 'none'],
    ]);
    section(doc, 'Security');
    const s = r.security;
    kv(doc, [
      ['Events in period', String(s.total_events)],
      ['Failed authentication attempts', String(s.failed_auth_attempts)],
      ['Unauthorized access attempts (403)', String(s.unauthorized_access_attempts)],
      ['Data breaches detected', String(s.data_breaches_detected)],
      ['Audit level', s.audit_level],
      ['Audit chain', s.audit_chain.ok ? `intact (${s.audit_chain.checked} entries)` : `BROKEN at entry ${s.audit_chain.first_broken_id}`],
    ]);
    note(s.note);
    section(doc, 'Data subject rights');
    const d = r.data_subject_rights;
    kv(doc, [
      ['Access requests', String(d.access_requests)],
      ['Deletion requests', String(d.deletion_requests)],
      ['Rectification requests', String(d.rectification_requests)],
      ['Portability requests', String(d.portability_requests)],
    ]);
    note(d.note);
  }, 'Compliance Report');
}
