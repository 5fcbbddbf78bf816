import type { ComponentChildren } from 'preact';

/**
 * A query plan (POST /query/aql `plan`, docs/aql.md "Plans and explain") as a tree: the plan's mode
 * and estimate at the root, then the indexes it uses and its pipeline of steps. A step that reads
 * through an index names it in a badge ("index users.city (equality)").
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Index names by id (from GET /index/stats), to name the secondary indexes a plan refers to by id. */
export type IndexNames = Map<number, { name: string; columns: string[] }>;

interface PlanIndex {
  variable?: string;
  collection?: string;
  type?: string;
  id?: number;
  attribute?: string;
  index?: string;
  unique?: boolean;
  reverse?: boolean;
  lower?: boolean;
  upper?: boolean;
}

/** The name shown for an index the plan uses. */
export function indexLabel(ix: PlanIndex, names: IndexNames): string {
  if (ix.type === 'primary') return `primary key of ${ix.collection ?? '?'}`;
  if (ix.type === 'vector') return `${ix.index ?? 'vector index'} (vector)`;
  const known = ix.id !== undefined ? names.get(ix.id) : undefined;
  const name = known?.name ?? `${ix.collection ?? '?'}.${ix.attribute ?? '?'}`;
  return `${name} (${ix.type ?? '?'})`;
}

const SHOWN_ELSEWHERE = new Set(['type', 'variable', 'collection', 'access', 'index', 'attribute']);

function Fields({ obj, skip }: { obj: Obj; skip: Set<string> }) {
  const entries = Object.entries(obj).filter(([k, v]) => !skip.has(k) && v !== undefined && !isObj(v) && !Array.isArray(v));
  if (entries.length === 0) return null;
  return (
    <span class="plan-fields">
      {entries.map(([k, v]) => (
        <span key={k} class="plan-field">
          {k}: <code>{typeof v === 'string' ? v : JSON.stringify(v)}</code>
        </span>
      ))}
    </span>
  );
}

function stepIndex(step: Obj, indexes: PlanIndex[]): PlanIndex | undefined {
  const access = step.access;
  if (access === 'index_eq' || access === 'index_range') {
    return indexes.find((ix) => ix.id === step.index && ix.variable === step.variable) ?? indexes.find((ix) => ix.id === step.index);
  }
  if (access === 'primary')
    return (
      indexes.find((ix) => ix.type === 'primary' && ix.variable === step.variable) ?? {
        type: 'primary',
        collection: step.collection as string,
      }
    );
  if (access === 'fulltext' || access === 'vector') return indexes.find((ix) => ix.type === access && ix.variable === step.variable);
  return undefined;
}

function Node({ title, children, sub }: { title: ComponentChildren; children?: ComponentChildren; sub?: ComponentChildren }) {
  return (
    <li>
      <div class="node">{title}</div>
      {sub}
      {children}
    </li>
  );
}

function StepNode({ step, indexes, names }: { step: Obj; indexes: PlanIndex[]; names: IndexNames }) {
  const type = String(step.type ?? '?');
  const ix = stepIndex(step, indexes);
  const access = typeof step.access === 'string' ? step.access : undefined;
  const title = (
    <>
      <strong class="plan-type">{type.toUpperCase()}</strong>
      {step.variable !== undefined && <code> {String(step.variable)}</code>}
      {step.collection !== undefined && (
        <>
          {' '}
          IN <code>{String(step.collection)}</code>
        </>
      )}
      {access && (
        <span class={`badge ${access === 'full_scan' || access === 'nested_loop' ? 'warn' : ''}`}>{access.replace('_', ' ')}</span>
      )}
      {ix && <span class="badge ok plan-index">index {indexLabel(ix, names)}</span>}
      {step.attribute !== undefined && !ix && <span class="plan-field">attribute: {String(step.attribute)}</span>}
      <Fields obj={step} skip={SHOWN_ELSEWHERE} />
    </>
  );
  const nested = Object.entries(step).filter(([, v]) => isObj(v) || Array.isArray(v));
  return (
    <Node title={title}>
      {nested.length > 0 && (
        <ul>
          {nested.map(([k, v]) => (
            <li key={k}>
              <div class="node">
                {k}: <code>{JSON.stringify(v)}</code>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Node>
  );
}

export function PlanTree({ plan, names }: { plan: unknown; names: IndexNames }) {
  if (!isObj(plan)) return <p class="muted">The server returned no plan.</p>;
  const indexes = (Array.isArray(plan.indexes) ? plan.indexes : []).filter(isObj) as PlanIndex[];
  const steps = (Array.isArray(plan.steps) ? plan.steps : []).filter(isObj);
  const mode = String(plan.mode ?? '?');
  return (
    <section class="plan" aria-label="Query plan">
      <ul>
        <Node
          title={
            <>
              <strong>Plan</strong>
              <span class={`badge ${mode === 'full_scan' ? 'warn' : 'ok'}`}>{mode.replace('_', ' ')}</span>
              {plan.estimated_rows !== undefined && <span class="plan-field">estimated rows: {String(plan.estimated_rows)}</span>}
              {plan.join_strategy !== undefined && <span class="plan-field">join: {String(plan.join_strategy)}</span>}
            </>
          }
        >
          <ul>
            <Node
              title={
                <>
                  <strong>Indexes used</strong> <span class="muted">({indexes.length})</span>
                  {indexes.length === 0 && <span class="plan-field muted">none — every FOR scans its collection</span>}
                </>
              }
            >
              {indexes.length > 0 && (
                <ul>
                  {indexes.map((ix, i) => (
                    <Node
                      key={i}
                      title={
                        <>
                          <span class="badge ok plan-index">index {indexLabel(ix, names)}</span>
                          {ix.variable && (
                            <span class="plan-field">
                              for <code>{ix.variable}</code>
                            </span>
                          )}
                          {ix.attribute && (
                            <span class="plan-field">
                              fields:{' '}
                              <code>{(ix.id !== undefined ? names.get(ix.id)?.columns : undefined)?.join(', ') ?? ix.attribute}</code>
                            </span>
                          )}
                          <Fields obj={ix as Obj} skip={new Set(['variable', 'collection', 'type', 'attribute', 'index'])} />
                        </>
                      }
                    />
                  ))}
                </ul>
              )}
            </Node>
            <Node
              title={
                <>
                  <strong>Pipeline</strong> <span class="muted">({steps.length} steps, in order)</span>
                </>
              }
            >
              <ul class="plan-steps">
                {steps.map((st, i) => (
                  <StepNode key={i} step={st} indexes={indexes} names={names} />
                ))}
              </ul>
            </Node>
          </ul>
        </Node>
      </ul>
    </section>
  );
}
