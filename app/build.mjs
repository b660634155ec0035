// The app's bundles, called from build.mjs: the `npm run demo` server (dist/cli/demo.js), and the page as a
// self-contained static folder, dist/app: app.js, the wasm worker, index.html, style.css and the embedded data set.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

const DATA = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
  'LICENSE',
  'README.md',
];

/**
 * @param {{ root: string, build: Function, common: object, worker: (dir: string, platform: string) => Promise<unknown>,
 *   cli: boolean, page: boolean }} o  cli: the two CLIs (part of `lib`); page: dist/app (part of `app`)
 * @returns {Promise<unknown>[]} the build tasks
 */
export function appBuilds({ root, build, common, worker, cli, page }) {
  const tasks = [];
  const node = (entry, outfile) =>
    build({
      ...common,
      entryPoints: [join(root, entry)],
      outfile: join(root, outfile),
      platform: 'node',
      external: ['webgpu'],
    });
  // dist/cli/start.js is a copy of the swa-engine bundle (build.mjs); the demo server is the repository's own.
  if (cli) tasks.push(node('cli/demo.ts', 'dist/cli/demo.js'));
  if (page) {
    const dir = join(root, 'dist/app');
    const data = join(dir, 'data/fashion-mnist-mini');
    tasks.push(
      build({
        ...common,
        entryPoints: [join(root, 'app/main.ts')],
        outfile: join(dir, 'app.js'),
        platform: 'browser',
        external: ['webgpu', 'node:*'],
      }),
      worker('dist/app', 'browser'),
      (async () => {
        await mkdir(data, { recursive: true });
        await copyFile(join(root, 'app/index.html'), join(dir, 'index.html'));
        await copyFile(join(root, 'app/style.css'), join(dir, 'style.css'));
        for (const f of DATA) await copyFile(join(root, 'data/fashion-mnist-mini', f), join(data, f));
      })(),
    );
  }
  return tasks;
}
