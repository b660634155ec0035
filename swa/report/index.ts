// The browser-safe report API: calibration metrics, mean ± std, Table 1-style tables, CSV/JSON and SVG figures.
// `writeReport` (Node only) lives in ./files.ts and is not re-exported here.

export * from './calibration.ts';
export * from './stats.ts';
export * from './table.ts';
export * from './ticks.ts';
export * from './svg.ts';
