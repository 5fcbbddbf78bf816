import type { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';
import type { PageProps } from '../app';
import { navigate } from '../router';
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
  const list = useRef<HTMLDivElement>(null);
  if (!current) return <p class="muted">This key holds none of admin, audit:read, reports:read or classify:read.</p>;
  const Tab = current.component;
  const select = (id: string) => {
    navigate('security', id);
    // Keep the focus on the newly selected tab (keyboard users).
    requestAnimationFrame(() => list.current?.querySelector<HTMLButtonElement>(`#sec-tab-${id}`)?.focus());
  };
  return (
    <div class="security">
      <div class="tabs" role="tablist" aria-label="Security sections" ref={list}>
        {visible.map((t, i) => (
          <button
            type="button"
            role="tab"
            key={t.id}
            id={`sec-tab-${t.id}`}
            aria-selected={t.id === current.id}
            aria-controls="sec-panel"
            tabIndex={t.id === current.id ? 0 : -1}
            onClick={() => select(t.id)}
            onKeyDown={(e: KeyboardEvent) => {
              let next: TabDef | undefined;
              if (e.key === 'ArrowRight') next = visible[(i + 1) % visible.length];
              else if (e.key === 'ArrowLeft') next = visible[(i - 1 + visible.length) % visible.length];
              else if (e.key === 'Home') next = visible[0];
              else if (e.key === 'End') next = visible[visible.length - 1];
              if (next) {
                e.preventDefault();
                select(next.id);
              }
            }}
          >
            {t.title}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="sec-panel" aria-labelledby={`sec-tab-${current.id}`}>
        <Tab key={current.id} session={session} args={args.slice(1)} />
      </div>
    </div>
  );
}
