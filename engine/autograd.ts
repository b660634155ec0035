// Reverse-mode autograd: an iterative, deterministic topological sort of the recorded graph, then each op's backward
// in reverse order, accumulating into the `.grad` of leaves. Intermediate gradients are freed as soon as they are used.

import { add, scale } from './ops/elementwise.ts';
import { fillLike } from './ops/kernel.ts';
import { keep, noGrad } from './scope.ts';
import { fmt, sameShape } from './shape.ts';
import type { Tensor } from './tensor-type.ts';

/** Tensors reachable from `root` through recorded ops, inputs before the ops that use them (post-order). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>([root.id]);
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  while (stack.length) {
    const frame = stack[stack.length - 1];
    const inputs = frame.t.node?.inputs ?? [];
    if (frame.next < inputs.length) {
      const child = inputs[frame.next++];
      if (child.requiresGrad && !seen.has(child.id)) {
        seen.add(child.id);
        stack.push({ t: child, next: 0 });
      }
    } else {
      order.push(frame.t);
      stack.pop();
    }
  }
  return order;
}

/**
 * Computes d(root)/d(leaf) for every leaf with requiresGrad and adds it to `leaf.grad`. A non-scalar root needs
 * `grad`, the gradient of some scalar with respect to root (same shape).
 */
export function backward(root: Tensor, grad?: Tensor): void {
  root.storage('backward');
  if (!root.requiresGrad) {
    throw new Error(
      `backward: tensor of shape ${fmt(root.shape)} does not require grad (no input had requiresGrad set, or it ` +
        `was made under noGrad)`,
    );
  }
  if (!grad && root.size !== 1) {
    throw new Error(`backward: output of shape ${fmt(root.shape)} is not a scalar; pass a gradient of the same shape`);
  }
  if (grad && !sameShape(grad.shape, root.shape)) {
    throw new Error(
      `backward: gradient of shape ${fmt(grad.shape)} does not match the output's shape ${fmt(root.shape)}`,
    );
  }
  if (grad && grad.backend !== root.backend) {
    throw new Error(`backward: gradient on ${grad.device} but output on ${root.device}`);
  }
  const order = topoOrder(root);
  noGrad(() => {
    const seed = grad ?? fillLike(root, root.shape, 1);
    const grads = new Map<Tensor, Tensor>([[root, seed]]);
    const uses = new Map<Tensor, number>([[seed, 1]]);
    const hold = (g: Tensor): void => {
      uses.set(g, (uses.get(g) ?? 0) + 1);
    };
    const drop = (g: Tensor): void => {
      const n = (uses.get(g) ?? 1) - 1;
      if (n > 0) {
        uses.set(g, n);
        return;
      }
      uses.delete(g);
      if (g !== grad) g.dispose();
    };
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.node;
      if (!node) {
        const shared = (uses.get(g) ?? 0) > 1 || g === grad;
        if (!t.grad && !shared) {
          uses.delete(g);
          t.grad = keep(g);
        } else {
          accumulateLeaf(t, g);
          drop(g);
        }
        continue;
      }
      const inputGrads = node.backward(g);
      node.inputs.forEach((x, k) => {
        const gx = inputGrads[k];
        if (!gx || !x.requiresGrad) {
          if (gx && gx !== g && !uses.has(gx)) gx.dispose();
          return;
        }
        const prev = grads.get(x);
        if (prev) {
          grads.set(x, add(prev, gx));
          hold(grads.get(x)!);
          drop(prev);
          if (gx !== g && !uses.has(gx)) gx.dispose();
        } else {
          grads.set(x, gx);
          hold(gx);
        }
      });
      drop(g);
    }
  });
}

/** Adds `g` into leaf.grad as a new tensor (g itself stays with its other users). */
function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  const prev = leaf.grad;
  leaf.grad = keep(prev ? add(prev, g) : scale(g, 1));
  prev?.dispose();
}
