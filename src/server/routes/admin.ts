import { Backup } from '../../backup/index.js';
import type { ServiceHost } from '../../kernel/index.js';
import type { RouteArea } from '../route-area.js';
import type { AuditedRequest, RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';

/** The audit subject of a backup request: the backup's id (of the path, or of the reply to a start). */
const backupEntry = (r: AuditedRequest) => {
  const id = r.params.id ?? (r.reply as { id?: unknown } | undefined)?.id;
  return { entityType: 'backup', entityId: typeof id === 'string' ? id.slice(0, 100) : null };
};

/** Operations (docs/operations.md, "Backup and restore"): online backups and LevelDB compaction; admin keys only (openapi.yaml). */
export function adminRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/admin/backup',
      body: 'BackupRequest',
      bodyOptional: true,
      handler: async (req) => {
        const job = await db.get(Backup).start(req.body?.path === undefined ? {} : { path: req.body.path });
        return { status: 202, json: job, headers: { location: `/admin/backup/${job.id}` } };
      },
      audit: backupEntry,
    }),
    {
      method: 'GET',
      path: '/admin/backup',
      handler: async () => {
        const backups = await db.get(Backup).list();
        return { json: { backups, total: backups.length } };
      },
    },
    {
      method: 'GET',
      path: '/admin/backup/:id',
      handler: async (req) => ({ json: await db.get(Backup).get(req.params.id!) }),
      audit: backupEntry,
    },
    withBody({
      method: 'POST',
      path: '/admin/compact',
      body: 'CompactRequest',
      bodyOptional: true,
      handler: async (req) => ({ json: await db.get(Backup).compact(req.body ?? {}) }),
    }),
  ];
}

export const adminArea: RouteArea = { name: 'admin', routes: (ctx) => adminRoutes(ctx.db) };
