import { Audit } from '../../audit/index.js';
import { auditReportCsv, auditReportPdf, complianceReportPdf } from '../../audit/report-render.js';
import { auditReport, complianceReport, GROUP_BY, type GroupBy, reportPeriod } from '../../audit/reports.js';
import type { ServiceHost } from '../../kernel/index.js';
import { Pii } from '../../pii/index.js';
import { Retention } from '../../retention/index.js';
import type { RouteArea } from '../route-area.js';
import type { RouteSpec } from '../router.js';
import type { Reply } from '../types.js';
import { enumParam, timeParam } from '../query-params.js';

/** Default period of the audit report: the last 24 hours. */
export const AUDIT_REPORT_DEFAULT_MS = 24 * 3_600_000;
/** Default period of the compliance report: the last 30 days. */
export const COMPLIANCE_REPORT_DEFAULT_MS = 30 * 24 * 3_600_000;

/** `themis-<kind>-report-<start>-<end>.<ext>`, with the period's times as compact UTC stamps. */
function filename(kind: string, period: { start: string; end: string }, ext: string): string {
  const stamp = (s: string) => s.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `themis-${kind}-report-${stamp(period.start)}-${stamp(period.end)}.${ext}`;
}

function attachment(body: Uint8Array | string, contentType: string, name: string): Reply {
  const headers = { 'Content-Disposition': `attachment; filename="${name}"`, 'Cache-Control': 'no-store' };
  return typeof body === 'string' ? { text: body, contentType, headers } : { body, contentType, headers };
}

/** GET /api/reports/audit and /api/reports/compliance (docs/audit.md, "Reports"); the retention report is in routes/retention.ts. */
export function reportRoutes(db: ServiceHost): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/api/reports/audit',
      rateLimit: 'audit',
      handler: async (req) => {
        const q = req.query;
        const period = reportPeriod(timeParam(q, 'start'), timeParam(q, 'end'), AUDIT_REPORT_DEFAULT_MS);
        const groupBy = enumParam<GroupBy>(q, 'group_by', GROUP_BY, 'action');
        const format = enumParam(q, 'format', ['json', 'csv', 'pdf'] as const, 'json');
        const report = await auditReport(db.get(Audit), period, groupBy);
        if (format === 'csv') return attachment(auditReportCsv(report), 'text/csv; charset=utf-8', filename('audit', report.period, 'csv'));
        if (format === 'pdf') return attachment(await auditReportPdf(report), 'application/pdf', filename('audit', report.period, 'pdf'));
        return { json: report };
      },
    },
    {
      method: 'GET',
      path: '/api/reports/compliance',
      rateLimit: 'audit',
      handler: async (req) => {
        const q = req.query;
        const period = reportPeriod(timeParam(q, 'start'), timeParam(q, 'end'), COMPLIANCE_REPORT_DEFAULT_MS);
        const format = enumParam(q, 'format', ['json', 'pdf'] as const, 'json');
        const f = db.get(Pii).facts();
        const report = await complianceReport(db.get(Audit), db.get(Retention), period, {
          records: f.records,
          shredded: f.shredded,
          policies: f.policies,
          pseudonymization_active: f.pseudonymization_active,
          encryption_enabled: f.encryption_enabled,
          detected_documents: Object.values(f.detected_in_writes).reduce((a, d) => a + d.documents, 0),
        });
        if (format === 'pdf')
          return attachment(await complianceReportPdf(report), 'application/pdf', filename('compliance', report.period, 'pdf'));
        return { json: report };
      },
    },
  ];
}

export const reportsArea: RouteArea = { name: 'reports', routes: (ctx) => reportRoutes(ctx.db) };
