import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface RenderedChart {
  /** A standalone `<svg>` element, ready to inline into an HTML page. */
  svg: string;
  /** Warnings Vega-Lite or Vega logged while compiling and rendering (empty for a sound spec). */
  warnings: string[];
}

/**
 * Rewrites the SVG for inlining next to other charts: element ids (clip paths, gradients) get
 * `prefix` so charts cannot capture each other's, and the namespace declarations go (HTML
 * parses inline SVG without them, and the page then holds no URL at all).
 */
export function inlineSvg(svg: string, prefix: string, label: string): string {
  return svg
    .replace(/ xmlns(?::xlink)?="[^"]*"/g, '')
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}-${id}"`)
    .replace(/^<svg /, `<svg role="img" aria-label="${label.replace(/[&"<>]/g, '')}" data-chart="${prefix}" `);
}

/** Compiles a Vega-Lite spec and renders it headless (no canvas, no DOM) to an SVG string. */
export async function renderChart(spec: TopLevelSpec, prefix: string, label: string): Promise<RenderedChart> {
  const warnings: string[] = [];
  const logger = vega.logger(vega.Warn, undefined, (_method, _level, args) => {
    warnings.push(args.map(String).join(' '));
  });
  const vgSpec = compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logger, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    return { svg: inlineSvg(svg, prefix, label), warnings };
  } finally {
    view.finalize();
  }
}
