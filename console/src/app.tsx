import type { FunctionComponent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { resume, type Session, signIn, signOut } from './api';
import { AqlPage } from './pages/aql';
import { ChangeFeedPage } from './pages/changefeed';
import { DataPage } from './pages/data';
import { IndexesPage } from './pages/indexes';
import { OverviewPage } from './pages/overview';
import { SearchPage } from './pages/search';
import { SecurityPage } from './pages/security';
import { href, useRoute } from './router';
import { ErrorBox } from './ui';

export interface PageProps {
  session: Session;
  /** The rest of the hash path (`#/data/users` -> `['users']`). */
  args: string[];
}

interface PageDef {
  id: string;
  title: string;
  /** Shown when the key holds any of these (none: always). */
  needs?: string[];
  component: FunctionComponent<PageProps>;
}

/** The console's pages, in the navigation's order. */
export const PAGES: PageDef[] = [
  { id: 'overview', title: 'Overview', component: OverviewPage },
  { id: 'data', title: 'Data', needs: ['data:read', 'data:write'], component: DataPage },
  { id: 'aql', title: 'AQL', needs: ['query:execute'], component: AqlPage },
  { id: 'indexes', title: 'Indexes', needs: ['data:read', 'admin'], component: IndexesPage },
  { id: 'changefeed', title: 'Change feed', needs: ['data:read'], component: ChangeFeedPage },
  { id: 'search', title: 'Search', needs: ['data:read'], component: SearchPage },
  {
    id: 'security',
    title: 'Security & compliance',
    needs: ['admin', 'audit:read', 'reports:read', 'classify:read'],
    component: SecurityPage,
  },
];

function SignIn({ onSession }: { onSession: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <main class="signin">
      <form
        class="card signin-card"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            onSession(await signIn(key.trim()));
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>ThemisTS console</h1>
        <p class="muted">
          Sign in with an API key (the admin key printed at first start, or one made with <code>POST /api/keys</code>). It is kept in this
          tab only (sessionStorage) and sent as <code>Authorization: Bearer</code>.
        </p>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          ref={input}
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          required
        />
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">
          API reference: <a href="/docs">/docs</a>
        </p>
      </form>
    </main>
  );
}

export function App() {
  const [session, setSession] = useState<Session | undefined>();
  const [checking, setChecking] = useState(true);
  const route = useRoute();
  useEffect(() => {
    resume().then((s) => {
      setSession(s);
      setChecking(false);
    });
  }, []);
  if (checking) return <p class="muted pad">Loading…</p>;
  if (!session) return <SignIn onSession={setSession} />;
  const visible = PAGES.filter((p) => !p.needs || p.needs.some((n) => session.can(n)));
  const page = visible.find((p) => p.id === route.page) ?? visible[0]!;
  const Page = page.component;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class="sidebar" aria-label="Console pages">
        <div class="brand">ThemisTS</div>
        <ul>
          {visible.map((p) => (
            <li key={p.id}>
              <a href={href(p.id)} aria-current={p.id === page.id ? 'page' : undefined}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
        <div class="whoami">
          <div title={session.who.permissions.join(', ')}>
            Signed in as <strong>{session.who.name}</strong>
          </div>
          <div class="muted small">{session.who.kind === 'api_key' ? session.who.id : session.who.kind}</div>
          <button
            type="button"
            onClick={() => {
              signOut();
              setSession(undefined);
            }}
          >
            Sign out
          </button>
        </div>
      </nav>
      <main id="main" class="content" tabIndex={-1}>
        <h1 class="page-title">{page.title}</h1>
        <Page key={page.id} session={session} args={page.id === route.page ? route.args : []} />
      </main>
    </div>
  );
}
