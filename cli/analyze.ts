// `swa-engine analyze`: the SWA paper's geometry (rays, the SGD–SWA line, planes, SWA against FGE) for a Table 1
// runner folder; resumable (rerun the same command), with progress, SVG figures, JSON and CSV.
// Usage: swa-engine analyze runs/table1-small-cnn [--quick] [--analyses rays,line,planes,fge] [--seed 0]

import { defaultBackend } from '../engine/index.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { dataFolder, isDataSetName, loadDataSet, DATA_SETS } from '../nn/data/node-files.ts';
import { analyzeRun, readRunSettings, RunFolderProblem } from '../swa/analysis/index.ts';
import { ANALYZE, analyzeRequest, checkRequest, flagged } from './analyze-options.ts';
import { startDevice } from './common.ts';
import { parseCommand, UsageError } from './options.ts';

const a = parseCommand(ANALYZE);
const request = analyzeRequest(a);
// Every option is checked before the run folder is read and the device opened.
checkRequest(request);
const { run } = request;
const settings = await readRunSettings(run);
const name = settings.dataset;
if (!isDataSetName(name)) {
  throw new RunFolderProblem(
    `${run}/settings.json names data set '${name}', which this command cannot load (${DATA_SETS.join(', ')})`,
  );
}
if (name.startsWith('cifar') && !a['data-dir']) {
  throw new UsageError(`the run used ${name}: give --data-dir (the folder with the binary batches)`);
}
/** The first `n` examples, as the swa command's --limit took them. */
const head = (ds: Dataset, n: number): Dataset => {
  if (!(n < ds.n)) return ds;
  const per = ds.images.length / ds.n;
  return { ...ds, n, images: ds.images.subarray(0, n * per), labels: ds.labels.subarray(0, n) };
};
const train = head(loadDataSet(name, { dir: a['data-dir'], split: 'train' }), settings.train.n);
const test = head(loadDataSet(name, { dir: a['data-dir'], split: 'test' }), settings.test.n);
const from = dataFolder(name, a['data-dir']);
console.log(`data: ${name} from ${from}, ${train.n} train / ${test.n} test images (as the run used them)`);
await startDevice(a);

const ac = new AbortController();
process.on('SIGINT', () => {
  if (ac.signal.aborted) process.exit(130);
  console.error('\nanalyze: stopping after this point (all points saved); press Ctrl-C again to stop now');
  ac.abort();
});
const r = await analyzeRun({ ...request, train, test, device: defaultBackend(), signal: ac.signal }).catch((e) => {
  throw flagged(e);
});
console.log(`wrote ${r.files.join(', ')}`);
for (const n of r.notes) console.log(`note: ${n}`);
