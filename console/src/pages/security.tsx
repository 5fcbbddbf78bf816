import type { ComponentChildren } from 'preact';
import type { PageProps } from '../app';
import { RoutedTabs } from '../ui';
import { AuditTab } from './security-audit';
import { KeysTab } from './security-keys';
import { PiiTab } from './security-pii';
import { ReportsTab } from './security-reports';
import './security.css';

/**
 * Security & compliance: API keys (admin), the audit log (`audit:read`), reports (`reports:read`) and
 * the PII classify playground (`classify:read`). Each section is a tab, shown only when the key holds
 * its permission; the selected tab is the route's first argument (`#/security/audit`).
 */

interface TabDef {
  id: string;
  title: string;
  permission: string;
  component: (props: PageProps) => ComponentChildren;
}

const TABS: TabDef[] = [
  { id: 'keys', title: 'API keys', permission: 'admin', component: KeysTab },
  { id: 'audit', title: 'Audit log', permission: 'audit:read', component: AuditTab },
  { id: 'reports', title: 'Reports', permission: 'reports:read', component: ReportsTab },
  { id: 'pii', title: 'PII classify', permission: 'classify:read', component: PiiTab },
];

export function SecurityPage({ session, args }: PageProps) {
  const visible = TABS.filter((t) => session.can(t.permission));
  const current = visible.find((t) => t.id === args[0]) ?? visible[0];
  if (!current) return <p class="muted">This key holds none of admin, audit:read, reports:read or classify:read.</p>;
  const Tab = current.component;
  return (
    <div class="security">
      <RoutedTabs page="security" tabs={visible} current={current.id} label="Security sections">
        <Tab key={current.id} session={session} args={args.slice(1)} />
      </RoutedTabs>
    </div>
  );
}
