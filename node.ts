// Node entry point: everything in index.ts plus file access (data sets from disk, atomic checkpoint files) and the
// Table 1 runner.

export * from './index.ts';

// ---- data sets from disk --------------------------------------------------------------------------------------------
export {
  loadFashionMnist,
  loadFashionMnistMini,
  fashionMnistMiniDir,
  loadCifar,
  loadIdx,
  loadDataSet,
  dataFolder,
  isDataSetName,
  DATA_SETS,
  FASHION_MNIST_DIR,
  type FashionMnistOptions,
  type FashionMnistMiniOptions,
  type CifarLoadOptions,
  type DataSetName,
} from './nn/data/node-files.ts';

// ---- checkpoint files (written atomically) -----------------------------------------------------------------------
export { saveCheckpoint, loadCheckpoint } from './nn/checkpoint-node.ts';

// ---- the SWA paper's Table 1 runner --------------------------------------------------------------------------------
export {
  runTable1,
  planTable1,
  TABLE1_BUDGETS,
  RunInterrupted,
  RunnerConfigError,
  RunFolderError,
  RunLockedError,
  RunLockLostError,
  type LockHolder,
  type Table1Options,
  type Table1Plan,
  type Table1Result,
  type SwaScheduleKind,
  type BudgetPoint,
  type SeedResults,
  type SgdResult,
  type SwaResult,
  type FgeResult,
  type SwaPoint,
  type SwaEvaluation,
  type EpochRecord,
  type TestMetrics,
} from './swa/runner.ts';

// ---- geometry of a run (the paper's Figures 1, 3, 4, 5 and §3.5) ----------------------------------------------------
export * as analysis from './swa/analysis/index.ts';
