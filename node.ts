// Node entry point: everything in index.ts plus file access (data sets from disk, atomic checkpoint files).

export * from './index.ts';
export * from './nn/data/node-files.ts';
export { saveCheckpoint, loadCheckpoint } from './nn/checkpoint-node.ts';
export { writeFileAtomic, readFileChecked } from './nn/atomic-file.ts';
export * from './swa/runner.ts';
export { writeReport } from './swa/report/files.ts';
export * as analysis from './swa/analysis/index.ts';
