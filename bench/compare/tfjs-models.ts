// The comparison's two models written the way a TensorFlow.js user would (tf.layers, channels-last), and an SGD step
// with momentum and PyTorch's coupled weight decay (λw added to each gradient).

import * as tf from '@tensorflow/tfjs';

/** Keras momentum is 1 − PyTorch's (0.1); epsilon as PyTorch's default. */
const bn = (): tf.layers.Layer => tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 });

/** conv3×3 1→32, BN, ReLU, maxpool 2; conv3×3 32→64, BN, ReLU, maxpool 2; linear 3136→128, ReLU; linear 128→10. */
export function smallCnn(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same' }),
      bn(),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same' }),
      bn(),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

const conv = (filters: number, kernelSize: number, strides: number): tf.layers.Layer =>
  tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false });

/**
 * PreResNet-20 on 32×32×3: conv 3×3 16, three stages of three pre-activation basic blocks (16, 32, 64), BN, ReLU, GAP,
 * fc.
 */
export function preResNet20(): tf.LayersModel {
  const input = tf.input({ shape: [32, 32, 3] });
  let h = conv(16, 3, 1).apply(input) as tf.SymbolicTensor;
  let inplanes = 16;
  for (const [planes, stride] of [
    [16, 1],
    [32, 2],
    [64, 2],
  ]) {
    for (let i = 0; i < 3; i++) {
      const s = i === 0 ? stride : 1;
      const out = tf.layers.reLU().apply(bn().apply(h)) as tf.SymbolicTensor;
      const res = s !== 1 || inplanes !== planes ? (conv(planes, 1, s).apply(out) as tf.SymbolicTensor) : h;
      let y = conv(planes, 3, s).apply(out) as tf.SymbolicTensor;
      y = conv(planes, 3, 1).apply(tf.layers.reLU().apply(bn().apply(y))) as tf.SymbolicTensor;
      h = tf.layers.add().apply([y, res]) as tf.SymbolicTensor;
      inplanes = planes;
    }
  }
  h = tf.layers.globalAveragePooling2d({}).apply(tf.layers.reLU().apply(bn().apply(h))) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 10 }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

/**
 * One SGD step: forward in training mode (BN batch statistics, running averages updated), softmax cross-entropy,
 * gradients of every trainable weight, then PyTorch's coupled weight decay (g + λw) and the momentum update.
 * Returns the loss (the caller disposes it).
 * NOTE: weight decay as an L2 loss term summed with tf.addN over all weights fails on tfjs-backend-webgpu: AddN binds
 * one storage buffer per input, past the device's default limit of 8 (tfjs does not raise it), and the step's whole
 * command buffer is then dropped. Adding λw to each gradient is also PyTorch's exact rule.
 */
export function makeTrainStep(
  model: tf.LayersModel,
  opts: { lr: number; momentum: number; weightDecay: number },
): (x: tf.Tensor, y: tf.Tensor) => tf.Scalar {
  const opt = tf.train.momentum(opts.lr, opts.momentum);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return (x, y) =>
    tf.tidy(() => {
      const loss = (): tf.Scalar =>
        tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
      const { value, grads } = tf.variableGrads(loss, vars);
      opt.applyGradients(
        vars.map((v) => ({ name: v.name, tensor: tf.add(grads[v.name], tf.mul(v, opts.weightDecay)) })),
      );
      return value;
    });
}
