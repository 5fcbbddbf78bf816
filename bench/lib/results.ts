import fs from 'node:fs';
import path from 'node:path';
import type { AreaReport, ScenarioResult } from './types.js';
import { RESULTS_DIR } from './util.js';

/** `YYYYMMDD-HHMMSS` in UTC. */
export function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

export interface WrittenFiles {
  json: string;
  md: string;
  latestJson: string;
  latestMd: string;
}

/**
 * Write `<area>-<stamp>.json` and `.md`, and overwrite `<area>-latest.json`
 * and `<area>-latest.md`, in bench/results/.
 */
export function writeResults(report: AreaReport, dir = RESULTS_DIR): WrittenFiles {
  fs.mkdirSync(dir, { recursive: true });
  const base = `${report.area}-${stamp(new Date(report.startedAt))}`;
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const md = renderMarkdown(report);
  const files: WrittenFiles = {
    json: path.join(dir, `${base}.json`),
    md: path.join(dir, `${base}.md`),
    latestJson: path.join(dir, `${report.area}-latest.json`),
    latestMd: path.join(dir, `${report.area}-latest.md`),
  };
  fs.writeFileSync(files.json, json);
  fs.writeFileSync(files.md, md);
  fs.writeFileSync(files.latestJson, json);
  fs.writeFileSync(files.latestMd, md);
  return files;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtPct = (r: number) => `${(r * 100).toFixed(1)}%`;

function verdict(s: ScenarioResult): string {
  if (!s.valid) return '**INVALID**';
  if (s.pass === undefined) return '';
  return s.pass ? 'PASS' : '**FAIL**';
}

export function renderMarkdown(r: AreaReport): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`# Benchmark: ${r.title}`, '');
  out.push(`Run ${r.startedAt} → ${r.finishedAt} with \`npm run bench -- ${r.area}\`.`, '');
  const invalid = r.scenarios.filter((s) => !s.valid);
  if (invalid.length > 0) {
    out.push(
      `> **WARNING: ${invalid.length} scenario(s) INVALID** (${invalid.map((s) => s.name).join(', ')}): their numbers must not be used.`,
      '',
    );
  }

  const busy = r.scenarios.filter((s) => (s.otherCpuCores ?? 0) > 0.1);
  if (busy.length > 0) {
    out.push(
      `> **WARNING: the machine was busy** during ${busy.map((s) => `${s.name} (${s.otherCpuCores!.toFixed(2)} cores used by other processes)`).join(', ')}: those numbers are unreliable.`,
      '',
    );
  }
  const diskBusy = r.scenarios.filter((s) => (s.otherWriteMBps ?? 0) > 1);
  if (diskBusy.length > 0) {
    out.push(
      `> **WARNING: the disk was busy** during ${diskBusy.map((s) => `${s.name} (${s.otherWriteMBps!.toFixed(1)} MB/s written by other processes)`).join(', ')}: durable-write numbers are unreliable.`,
      '',
    );
  }
  // Areas that measure something other than request load (recovery) have only their own tables.
  if (r.scenarios.length > 0) {
    out.push('## Results', '');
    out.push(`| Scenario | Server | Request | ${r.rateLabel ?? 'req/s'} | p50 ms | p99 ms | errors | non-2xx | ratio | target | result |`);
    out.push('|---|---|---|---:|---:|---:|---:|---:|---:|---|---|');
    for (const s of r.scenarios) {
      const ratio = ratioText(s, '<br>');
      out.push(
        `| ${s.name} | ${s.server} | ${s.method} ${s.path} | ${fmtInt(s.load.rps)} | ${fmtMs(s.load.p50Ms)} | ${fmtMs(s.load.p99Ms)} | ${s.load.errors} | ${s.load.non2xx} | ${ratio} | ${s.target?.label ?? ''} | ${verdict(s)} |`,
      );
    }
    out.push('');
  }

  for (const t of r.tables ?? []) {
    out.push(`## ${t.title}`, '');
    out.push(`| ${t.columns.join(' | ')} |`);
    out.push(`|${t.columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const row of t.rows) out.push(`| ${row.join(' | ')} |`);
    out.push('');
    if (t.notes && t.notes.length > 0) {
      for (const n of t.notes) out.push(`- ${n}`);
      out.push('');
    }
  }

  const withTargets = r.scenarios.filter((s) => s.target !== undefined);
  if (withTargets.length > 0) {
    out.push('## Targets', '');
    for (const s of withTargets) {
      const actual = s.target!.kind === 'ratio' ? (s.ratio !== undefined ? fmtPct(s.ratio) : 'n/a') : `${fmtInt(s.load.rps)} req/s`;
      out.push(`- **${s.name}**: target ${s.target!.label}; measured ${actual} → ${verdict(s) || 'n/a'}`);
    }
    out.push('');
  }

  out.push('## Machine', '');
  out.push('| | |', '|---|---|');
  out.push(`| CPU | ${m.cpuModel} × ${m.cpuCount} |`);
  out.push(`| Memory | ${m.totalMemGiB} GiB |`);
  out.push(`| OS / kernel | ${m.platform}, ${m.kernel} |`);
  out.push(`| Node | ${m.nodeVersion} |`);
  out.push(`| Git commit | \`${m.gitCommit}\`${m.gitDirty ? ' (working tree dirty)' : ''} |`);
  out.push(`| Load generator | ${r.tool}${r.scenarios[0] ? `, ${r.scenarios[0].load.threads} thread(s)` : ''} |`);
  out.push(`| Load average at start | ${m.loadAvg.join(', ')} |`);
  out.push(
    `| Settings | ${r.settings.durationS} s measured + ${r.settings.warmupS} s warm-up per scenario, ${r.settings.connections} connections, pipelining 1 |`,
  );
  out.push(`| CPU pinning | ${r.settings.pinning} |`);
  out.push('');

  if (r.scenarios.length > 0) {
    out.push('## Details', '');
    out.push(
      '| Scenario | requests | duration s | p90 ms | max ms | mean ms | error detail | server-side status counts | avg group commit | server CPU (cores) | server event loop (cores) | load-gen CPU (cores) | other CPU (cores) | other disk writes MB/s |',
    );
    out.push('|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|');
    for (const s of r.scenarios) {
      const ed = Object.entries(s.load.errorDetail)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      const ss = s.serverSide
        ? Object.entries(s.serverSide.byStatus)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')
        : '';
      const gc = s.serverSide?.avgGroupCommit !== undefined ? s.serverSide.avgGroupCommit.toFixed(1) : '';
      out.push(
        `| ${s.name} | ${fmtInt(s.load.requests)} | ${s.load.durationS.toFixed(2)} | ${fmtMs(s.load.p90Ms)} | ${fmtMs(s.load.maxMs)} | ${fmtMs(s.load.meanMs)} | ${ed} | ${ss} | ${gc} | ${s.serverCpuCores !== undefined ? s.serverCpuCores.toFixed(2) : ''} | ${s.serverMainThreadCores !== undefined ? s.serverMainThreadCores.toFixed(2) : ''} | ${s.loadGenCpuCores !== undefined ? s.loadGenCpuCores.toFixed(2) : ''} | ${s.otherCpuCores !== undefined ? s.otherCpuCores.toFixed(2) : ''} | ${s.otherWriteMBps !== undefined ? s.otherWriteMBps.toFixed(2) : ''} |`,
      );
    }
    out.push('');
  }

  const problems = r.scenarios.filter((s) => s.problems.length > 0 || s.warnings.length > 0);
  if (problems.length > 0) {
    out.push('## Problems', '');
    for (const s of problems) {
      for (const p of s.problems) out.push(`- **INVALID ${s.name}**: ${p}`);
      for (const w of s.warnings) out.push(`- warning ${s.name}: ${w}`);
    }
    out.push('');
  }

  out.push('## Scenarios', '');
  for (const s of r.scenarios) out.push(`- **${s.name}**: ${s.description}`);
  out.push('');
  if (r.notes.length > 0) {
    out.push('## Notes', '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}

/** "x% of baseline" plus the extra baselines' ratios. */
function ratioText(s: ScenarioResult, sep: string, short = false): string {
  const parts: string[] = [];
  if (s.ratio !== undefined && s.baseline !== undefined) parts.push(short ? fmtPct(s.ratio) : `${fmtPct(s.ratio)} of ${s.baseline}`);
  for (const [b, v] of Object.entries(s.extraRatios ?? {})) parts.push(`${fmtPct(v)} of ${b}`);
  return parts.join(sep);
}

function plainTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

/** A compact plain-text table for the terminal. */
export function renderConsole(r: AreaReport): string {
  const rows = [['scenario', r.rateLabel ?? 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'ratio', 'target', 'result']];
  for (const s of r.scenarios) {
    rows.push([
      s.name,
      fmtInt(s.load.rps),
      fmtMs(s.load.p50Ms),
      fmtMs(s.load.p99Ms),
      String(s.load.errors),
      String(s.load.non2xx),
      ratioText(s, '; ', true),
      s.target?.label ?? '',
      verdict(s).replace(/\*/g, ''),
    ]);
  }
  const parts = [plainTable(rows)];
  for (const t of r.tables ?? [])
    parts.push(
      `${t.title}\n${plainTable([t.columns, ...t.rows.map((row) => row.map((c) => c.replace(/\*\*/g, '').replace(/<br>/g, '; ')))])}`,
    );
  return parts.join('\n\n');
}
