// PyTorch's SWA tutorial loop (the torch.optim docs' AveragedModel / SWALR / update_bn example), line for line, on
// the embedded Fashion-MNIST subset with a small CNN; prints the test accuracy of the last SGD iterate and of w_SWA.
// Build first (node build.mjs lib), then: node examples/swa-loop.mjs [--device=wasm|webgpu|auto]  (wasm: ~1 minute)
import {
  setDevice,
  defaultBackend,
  loadFashionMnistMini,
  Subset,
  DataLoader,
  toTensors,
  FASHION_MNIST_STATS,
  Generator,
  SmallCnn,
  SGD,
  CosineAnnealingLR,
  AveragedModel,
  SWALR,
  updateBn,
  crossEntropy,
  tidy,
  evaluate,
} from '../dist/node/index.js';

const arg = process.argv.find((a) => a.startsWith('--device='));
const report = await setDevice(arg ? arg.split('=')[1] : 'wasm');
console.log(`device: ${report.device} (${report.info})`);

// loader, optimizer, model, loss_fn = ...   (8000 of the subset's 10000 training images, shuffled every epoch)
const mini = loadFashionMnistMini({ split: 'train' });
const train = new Subset(
  mini,
  Array.from({ length: 8000 }, (_, i) => i),
);
const test = loadFashionMnistMini({ split: 'test' });
const normalize = FASHION_MNIST_STATS;
const loader = new DataLoader(train, { batchSize: 64, shuffle: true, normalize, generator: new Generator(0) });
const model = new SmallCnn({ widths: [8, 16, 32], generator: new Generator(1) });
const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
const lossFn = crossEntropy;
const epochs = 20;

const swaModel = new AveragedModel(model); // swa_model = AveragedModel(model)
const scheduler = new CosineAnnealingLR(optimizer, { tMax: epochs }); // scheduler = CosineAnnealingLR(opt, T_max=100)
const swaStart = 11; // swa_start = 5
const swaScheduler = new SWALR(optimizer, { swaLr: 0.01, annealEpochs: 2 }); // swa_scheduler = SWALR(opt, swa_lr=0.05)

const t0 = performance.now();
for (let epoch = 0; epoch < epochs; epoch++) {
  // for epoch in range(100):
  for (const batch of loader) {
    //   for input, target in loader:
    const { x: input, y: target } = toTensors(batch);
    tidy(() => {
      optimizer.zeroGrad(); //     optimizer.zero_grad()
      lossFn(model.call(input), target).backward(); //     loss_fn(model(input), target).backward()
      optimizer.step(); //     optimizer.step()
    });
    input.dispose();
    target.dispose();
  }
  if (epoch > swaStart) {
    //   if epoch > swa_start:
    swaModel.updateParameters(model); //     swa_model.update_parameters(model)
    swaScheduler.step(); //     swa_scheduler.step()
  } else {
    //   else:
    scheduler.step(); //     scheduler.step()
  }
  console.log(`epoch ${epoch + 1}/${epochs}: lr now ${optimizer.lr.toFixed(4)}, ${swaModel.nAveraged} averaged`);
}
// Update bn statistics for the swa_model at the end
updateBn(loader, swaModel); // torch.optim.swa_utils.update_bn(loader, swa_model)
// Use swa_model to make predictions on test data. NOTE: eval() first; PyTorch's docs call it in training mode.
swaModel.eval();
const testInput = toTensors(new DataLoader(test, { batchSize: 8, normalize }).next()).x;
const preds = swaModel.call(testInput); // preds = swa_model(test_input)
const logits = await preds.data();
const classes = Array.from({ length: 8 }, (_, i) => {
  const row = Array.from(logits.subarray(10 * i, 10 * i + 10));
  return row.indexOf(Math.max(...row));
});
console.log(`w_SWA's classes for 8 test images: ${classes.join(' ')} (labels ${test.labels.subarray(0, 8).join(' ')})`);

const sgd = await evaluate(model, test, defaultBackend(), { normalize });
const swa = await evaluate(swaModel, test, defaultBackend(), { normalize });
const seconds = ((performance.now() - t0) / 1000).toFixed(1);
console.log(
  `test accuracy (2000 images): last SGD iterate ${(100 * sgd.accuracy).toFixed(2)}%, ` +
    `SWA (${swaModel.nAveraged} models) ${(100 * swa.accuracy).toFixed(2)}% | ${seconds} s`,
);
