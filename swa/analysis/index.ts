// The geometry analyses of the SWA paper (§3.4–3.5: rays, the SGD–SWA line, planes, SWA against FGE): the public API.
// Node only (it reads run folders and writes figures); the SVG writers in contour.ts and figures.ts are browser-safe.

export { analyzeRun, type AnalysisReport } from './analyze-run.ts';
export {
  AnalysisConfigError,
  ANALYSES,
  PLANE_CASES,
  QUICK,
  planAnalysis,
  type OptionProblem,
  type AnalysisName,
  type AnalysisPlan,
  type AnalyzeOptions,
  type PlaneCase,
} from './options.ts';
export {
  PointEvaluator,
  subset,
  METRICS,
  type EvalSets,
  type Evaluation,
  type EvaluatorOptions,
  type PointMetrics,
} from './evaluate.ts';
export { refreshBn } from './bn-refresh.ts';
export {
  planeBasis,
  project,
  planePoint,
  linePoint,
  rayPoint,
  rayGrid,
  lineGrid,
  planeGrid,
  widthAt,
  type Plane,
  type PlaneGrid,
  type Projection,
} from './geometry.ts';
export {
  paramLayout,
  flatten,
  flatFromModel,
  loadFlat,
  dot,
  norm,
  distance,
  combine,
  randomDirection,
  seededDirection,
  contentKey,
  type ParamLayout,
  type HostTensors,
} from './weights.ts';
export {
  rays,
  line,
  rayDifference,
  type RayDifference,
  type RayOptions,
  type RaysResult,
  type RaySolution,
  type RayCurve,
  type LineOptions,
  type LineResult,
  type NamedWeights,
} from './rays-line.ts';
export { plane, type PlaneOptions, type PlaneResult, type PlaneMark } from './plane.ts';
export { fgeVsSwa, score, agreement, probDiff, type FgeVsSwaResult, type Compared, type Score } from './fge-vs-swa.ts';
export {
  evaluatePoints,
  predictPoint,
  pointKey,
  summarize,
  AnalysisInterrupted,
  type AnalysisContext,
  type PointSpec,
  type Summary,
} from './points.ts';
export { PointStore, StoreMismatchError, type StoredPoint } from './store.ts';
export {
  readRunSettings,
  readRunSolutions,
  runSeeds,
  RunFolderProblem,
  SWA_AVERAGE_PREFIX,
  type RunSettings,
  type RunSolutions,
  type FgeSnapshot,
} from './run-folder.ts';
export {
  contourMap,
  contourLevels,
  colourMap,
  isolines,
  bilinear,
  bandOf,
  levelLabel,
  levelLabels,
  type ContourOptions,
  type ContourMark,
  type Segment,
} from './contour.ts';
export { raysFigure, lineFigure, planeFigure, sideBySide } from './figures.ts';
export { csv, raysCsv, rayWidthsCsv, lineCsv, planeCsv, fgeCsv, summaryMarkdown, METRIC_COLUMNS } from './tables.ts';
