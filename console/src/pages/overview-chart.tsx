import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** One line of a chart. */
export interface Line {
  label: string;
  color: string;
  /** Shown in the legend and on hover. */
  unit: string;
  dash?: number[];
}

/**
 * A live time-series chart (uPlot on a canvas): `xs` are seconds since the epoch, `ys` one array per
 * line. The chart is made once, fed with setData on every change, resized with its container and
 * destroyed on unmount.
 */
export function TimeChart({
  title,
  lines,
  xs,
  ys,
  height = 260,
}: {
  title: string;
  lines: Line[];
  xs: number[];
  ys: (number | null)[][];
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = (unit: string) => (_u: uPlot, v: number | null) =>
      v === null || v === undefined ? '–' : `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ${unit}`;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      scales: {
        // At least 10 s wide (a fresh page has a few points), at most the 5 minutes kept.
        x: { time: true, range: (_u, min, max) => [Math.min(min, max - 10), max] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
      },
      axes: [
        {
          stroke: '#5b6575',
          grid: { stroke: '#eceff3' },
          ticks: { stroke: '#d9dee6' },
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300],
          space: 80,
          values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toTimeString().slice(0, 8)),
        },
        { stroke: '#5b6575', grid: { stroke: '#eceff3' }, ticks: { stroke: '#d9dee6' }, size: 52 },
      ],
      series: [
        {},
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: 2,
          dash: l.dash,
          fill: l.dash ? undefined : `${l.color}1a`,
          spanGaps: false,
          points: { show: false },
          value: fmt(l.unit),
        })),
      ],
      legend: { live: false },
    };
    const u = new uPlot(opts, [xs, ...ys] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData([xs, ...ys] as uPlot.AlignedData);
  }, [xs, ys]);

  return (
    <figure class="ov-chart" aria-label={title} data-points={xs.length}>
      <figcaption>{title}</figcaption>
      <div ref={box} class="ov-plot" />
    </figure>
  );
}
