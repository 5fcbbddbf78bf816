import type { PageProps } from '../app';

export function IndexesPage(_props: PageProps) {
  return <p class="muted">Coming in this change.</p>;
}
