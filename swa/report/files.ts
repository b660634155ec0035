// Node-only: writes a finished report (markdown table, CSV of runs, JSON, SVG figures) into a folder, each file
// replaced atomically so a reader never sees half a report file.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../nn/atomic-file.ts';
import { stringifyFinite } from '../../nn/finite.ts';

/** The parts of a report; each one given becomes a file (see `REPORT_FILES` for the names). */
export interface ReportParts {
  /** Markdown table(s), e.g. from `markdownTable`. */
  markdown?: string;
  /** Run records as CSV, e.g. from `runsCsv`. */
  csv?: string;
  /** A JSON string, or a value to serialize (2-space indent), e.g. from `reportJson`. */
  json?: unknown;
  /** SVG documents by file stem: `{ 'test-error': svg }` → test-error.svg. */
  svgs?: Readonly<Record<string, string>>;
}

/** File names `writeReport` uses for the non-figure parts. */
export const REPORT_FILES = { markdown: 'table.md', csv: 'runs.csv', json: 'report.json' } as const;

/**
 * Writes `parts` into `dir` (created if missing): table.md, runs.csv, report.json and `<name>.svg` per figure, each
 * with `writeFileAtomic` (temp file, fsync, rename). Returns the paths written, in that order. A JSON value holding
 * NaN or ±Infinity is refused (`NonFiniteJsonError` naming the field), never written as null.
 * Figure names must be plain file stems (letters, digits, `.`, `_`, `-`; no path separators, not starting with `.`).
 *
 * NOTE: each file is replaced atomically, the set of files is not: a crash midway can leave a new table.md beside an
 * old runs.csv.
 */
export async function writeReport(dir: string, parts: ReportParts): Promise<string[]> {
  const files: [string, string][] = [];
  if (parts.markdown !== undefined) files.push([REPORT_FILES.markdown, parts.markdown]);
  if (parts.csv !== undefined) files.push([REPORT_FILES.csv, parts.csv]);
  if (parts.json !== undefined) {
    files.push([
      REPORT_FILES.json,
      typeof parts.json === 'string' ? parts.json : `${stringifyFinite(parts.json, join(dir, REPORT_FILES.json), 2)}\n`,
    ]);
  }
  for (const [name, svg] of Object.entries(parts.svgs ?? {})) {
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name)) {
      throw new RangeError(`bad figure name ${JSON.stringify(name)}: use letters, digits, ., _ and -`);
    }
    files.push([`${name}.svg`, svg]);
  }
  await mkdir(dir, { recursive: true });
  const encoder = new TextEncoder();
  const paths: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    await writeFileAtomic(path, encoder.encode(text));
    paths.push(path);
  }
  return paths;
}
