// Pools of GPU buffers keyed by rounded byte size, so freed storage and staging buffers are reused, not re-created.

/** Smallest buffer handed out, in bytes (also what a zero-size allocation gets). */
const MIN_BYTES = 256;

/**
 * Rounds a byte size up to its bucket: powers of two up to 1 MiB, then steps of 1/8 of the power of two below
 * (at most 12.5% waste on large buffers).
 */
export function bucketBytes(bytes: number): number {
  const b = Math.max(bytes, MIN_BYTES);
  if (b <= 1 << 20) return 2 ** Math.ceil(Math.log2(b));
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

/** Free buffers of one usage, by size; buffers beyond `maxPooledBytes` are destroyed instead of kept. */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    /** Largest buffer the device accepts for this usage, in bytes. */
    private readonly maxBytes: number,
    private readonly maxPooledBytes: number,
  ) {}

  /** A buffer of at least `bytes` bytes (a multiple of 4), from the pool when one of its bucket is free. */
  acquire(bytes: number): GPUBuffer {
    if (bytes > this.maxBytes) {
      throw new Error(`webgpu: a buffer of ${bytes} bytes exceeds the device limit of ${this.maxBytes} bytes`);
    }
    const bucket = bucketBytes(bytes);
    const size = bucket <= this.maxBytes ? bucket : Math.ceil(bytes / 16) * 16;
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.pooledBytes -= size;
      return reused;
    }
    return this.device.createBuffer({ size, usage: this.usage });
  }

  /**
   * Returns a buffer to the pool. When the pool is full it is handed to `discard` instead, which must destroy it
   * only once no recorded-but-unsubmitted command uses it.
   */
  release(buffer: GPUBuffer, discard: (b: GPUBuffer) => void): void {
    if (this.pooledBytes + buffer.size > this.maxPooledBytes) {
      discard(buffer);
      return;
    }
    let list = this.free.get(buffer.size);
    if (!list) this.free.set(buffer.size, (list = []));
    list.push(buffer);
    this.pooledBytes += buffer.size;
  }

  /** Destroys every pooled buffer. */
  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
