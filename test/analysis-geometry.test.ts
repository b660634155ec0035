// swa/analysis on the host: the plane basis is orthonormal and the three points project back onto themselves; the line
// and rays hit their endpoints bit for bit; random directions are unit, uniform and reproducible; widths, contour
// levels, isolines, SVG figures and CSV (subsets, the point store and the option checks: analysis-plumbing.test.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '../engine/random.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import {
  AnalysisConfigError,
  bandOf,
  combine,
  contentKey,
  contourLevels,
  contourMap,
  csv,
  distance,
  dot,
  isolines,
  levelLabel,
  levelLabels,
  lineGrid,
  linePoint,
  norm,
  planAnalysis,
  planeBasis,
  planeGrid,
  planePoint,
  PointStore,
  project,
  QUICK,
  rayGrid,
  rayDifference,
  rayPoint,
  seededDirection,
  sideBySide,
  StoreMismatchError,
  subset,
  widthAt,
  type AnalyzeOptions,
  type PointMetrics,
  type RaySolution,
} from '../swa/analysis/index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'swa-analysis-'));

function randomVector(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => offset + scale * g.normal());
}
const bitsEqual = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && new Uint32Array(a.buffer).every((w, i) => w === new Uint32Array(b.buffer)[i]);

// Weight vectors like a trained net's: a common offset (the three solutions are close) and different spreads.
const N = 20011;
const w1 = randomVector(N, 1, 0.05, 0.3);
const w2 = combine([
  [1, w1],
  [1, randomVector(N, 2, 0.01)],
]);
const w3 = combine([
  [1, w1],
  [1, randomVector(N, 3, 0.02)],
]);

test('plane basis: u and v are orthonormal, w1 is the origin and w2 lies on the x axis', () => {
  const p = planeBasis(w1, w2, w3);
  assert.ok(Math.abs(norm(p.u) - 1) < 1e-6, `‖u‖ = ${norm(p.u)}`);
  assert.ok(Math.abs(norm(p.v) - 1) < 1e-6, `‖v‖ = ${norm(p.v)}`);
  assert.ok(Math.abs(dot(p.u, p.v)) < 1e-6, `⟨u, v⟩ = ${dot(p.u, p.v)}`);
  assert.equal(p.coords[0], [0, 0]);
  assert.ok(Math.abs(p.coords[1][0] - distance(w1, w2)) < 1e-6 * distance(w1, w2) && Math.abs(p.coords[1][1]) < 1e-6);
  assert.ok(p.coords[2][1] > 0, 'w3 is above the x axis (v points towards it)');
});

test('plane basis: the three points project back onto themselves and their projections rebuild them', () => {
  const p = planeBasis(w1, w2, w3);
  [w1, w2, w3].forEach((w, k) => {
    const at = project(p, w);
    assert.ok(
      Math.abs(at.x - p.coords[k][0]) < 1e-6 && Math.abs(at.y - p.coords[k][1]) < 1e-6,
      `point ${k + 1} projects onto its coordinates`,
    );
    assert.ok(at.offPlane < 1e-5 * norm(w), `point ${k + 1} is on the plane (off by ${at.offPlane})`);
    const back = planePoint(p, at.x, at.y);
    assert.ok(distance(back, w) < 1e-5 * distance(w2, w1), `point ${k + 1} rebuilt within ${distance(back, w)}`);
  });
});

test('plane basis: a point off the plane projects to its in-plane part, with its distance from the plane', () => {
  const p = planeBasis(w1, w2, w3);
  // n: a direction orthogonal to u and v, by Gram–Schmidt on a random vector.
  const r = randomVector(N, 9);
  const n0 = combine([
    [1, r],
    [-dot(r, p.u), p.u],
    [-dot(r, p.v), p.v],
  ]);
  const n = combine([[1 / norm(n0), n0]]);
  const w = combine([
    [1, w1],
    [0.7, p.u],
    [-0.2, p.v],
    [0.5, n],
  ]);
  const at = project(p, w);
  assert.ok(Math.abs(at.x - 0.7) < 1e-5 && Math.abs(at.y + 0.2) < 1e-5, `(${at.x}, ${at.y})`);
  assert.ok(Math.abs(at.offPlane - 0.5) < 1e-5, `off the plane by ${at.offPlane}`);
});

test('plane basis: rejects coincident and collinear points', () => {
  assert.throws(() => planeBasis(w1, w1, w3), /same point/);
  const mid = combine([
    [0.5, w1],
    [0.5, w2],
  ]);
  assert.throws(() => planeBasis(w1, w2, mid), /line through w1 and w2/);
});

test('line: t = 0 is w_SWA and t = 1 is w_SGD bit for bit; the grid holds 0 and 1 exactly, spans [−a, 1 + a]', () => {
  assert.ok(bitsEqual(linePoint(w2, w1, 0), w1), 't = 0 gives w_SWA');
  assert.ok(bitsEqual(linePoint(w2, w1, 1), w2), 't = 1 gives w_SGD');
  const mid = linePoint(w2, w1, 0.5);
  assert.ok(distance(mid, w1) - distance(w1, w2) / 2 < 1e-6);
  const t = lineGrid(11, 0.5);
  assert.is(t.length, 21);
  assert.is(t[0], -0.5);
  assert.is(t[20], 1.5);
  assert.ok(t.includes(0) && t.includes(1), 'exact 0 and 1');
  assert.equal(lineGrid(3, 0.5), [-0.5, 0, 0.5, 1, 1.5]);
  assert.equal(lineGrid(3, 0), [0, 0.5, 1]);
});

test('rays: t = 0 is the solution bit for bit; distances run from exactly 0 to exactly T', () => {
  const d = seededDirection(N, 0, 0);
  assert.ok(bitsEqual(rayPoint(w1, d, 0), w1));
  const t = rayGrid(3.7, 5);
  assert.equal(t.length, 5);
  assert.is(t[0], 0);
  assert.is(t[4], 3.7);
  assert.ok(Math.abs(distance(rayPoint(w1, d, 2), w1) - 2) < 1e-5, 'a unit direction moves by t');
});

test('random directions: unit length, reproducible from (seed, index), different across indices and seeds', () => {
  const a = seededDirection(N, 5, 0);
  assert.ok(Math.abs(norm(a) - 1) < 1e-6, `‖d‖ = ${norm(a)}`);
  assert.ok(bitsEqual(a, seededDirection(N, 5, 0)), 'same seed and index, same bits');
  const b = seededDirection(N, 5, 1);
  const c = seededDirection(N, 6, 0);
  assert.not.ok(bitsEqual(a, b) || bitsEqual(a, c));
  // Independent uniform directions in R^N are nearly orthogonal: ⟨a, b⟩ has standard deviation 1/√N.
  assert.ok(Math.abs(dot(a, b)) < 5 / Math.sqrt(N) && Math.abs(dot(a, c)) < 5 / Math.sqrt(N));
});

test('random directions: uniform on the sphere (on S², each coordinate is uniform on [−1, 1], Archimedes)', () => {
  const bins = [0, 0, 0, 0];
  const n = 4000;
  for (let k = 0; k < n; k++) {
    const d = seededDirection(3, 11, k);
    assert.ok(Math.abs(norm(d) - 1) < 1e-6);
    bins[Math.min(3, Math.floor((d[2] + 1) * 2))]++;
  }
  // A normalised uniform cube would pile up near ±1/√3; the sphere gives 25% ± 2.1% (3σ) per quarter.
  for (const b of bins) assert.ok(Math.abs(b / n - 0.25) < 0.021, `quarter holds ${b / n}`);
});

test('combine: sums in float64 rounded once; zero coefficients are skipped, so −0 survives', () => {
  const big = new Float32Array([1e7, -1e7, 3e7]);
  const small = new Float32Array([0.1, 0.3, -0.7]);
  assert.ok(
    bitsEqual(
      combine([
        [1, big],
        [1, small],
        [-1, big],
      ]),
      small,
    ),
    '(big + small) − big = small exactly',
  );
  const z = new Float32Array([-0, 2]);
  const r = combine([
    [1, z],
    [0, new Float32Array([5, 5])],
  ]);
  assert.ok(Object.is(r[0], -0) && r[1] === 2);
  assert.throws(() => combine([[NaN, z]]), /not finite/);
});

test('content keys: equal vectors, equal keys; one bit or the order changes the key', () => {
  const a = randomVector(1000, 4);
  assert.is(contentKey(a), contentKey(Float32Array.from(a)));
  const b = Float32Array.from(a);
  new Uint32Array(b.buffer)[500] ^= 1;
  assert.is.not(contentKey(a), contentKey(b));
  assert.is.not(contentKey(a, b), contentKey(b, a));
  assert.match(contentKey(a), /^[0-9a-f]{16}$/);
});

test('width: linear interpolation to the first crossing of value(0) + margin; null when never reached', () => {
  const w = widthAt([0, 1, 2, 3], [0.1, 0.12, 0.2, 0.5], 0.05);
  assert.ok(w !== null && Math.abs(w - 1.375) < 1e-12, `width ${w}`);
  assert.is(widthAt([0, 1, 2], [0.25, 0.5, 1], 0.25), 1, 'reaching the target exactly counts');
  assert.is(widthAt([0, 1, 2], [0.1, 0.12, 0.11], 0.05), null);
  assert.is(widthAt([0, 1], [0.3, 0.1], 0.05), null, 'falling error never widens');
});

test('ray widths pair by direction: second − first where both were reached, and how often the second is wider', () => {
  const sol = (name: string, widths: (number | null)[], lossWidths: (number | null)[]): RaySolution => ({
    name,
    norm: 1,
    curves: widths.map((width, direction) => ({ direction, metrics: [], width, lossWidth: lossWidths[direction] })),
    width: { mean: null, std: null, min: null, max: null, count: 0, of: 0 },
    lossWidth: { mean: null, std: null, min: null, max: null, count: 0, of: 0 },
  });
  const d = rayDifference(
    sol('SGD', [10, 20, null, 30], [5, 6, 7, 8]),
    sol('SWA', [13, 19, 40, 34], [5.5, 5, 7, null]),
  );
  assert.is(d.first, 'SGD');
  assert.is(d.second, 'SWA');
  // Differences 3, −1, (skipped), 4: mean 2, sample std √7; wider along 2 of 3.
  assert.is(d.width.count, 3);
  assert.is(d.width.of, 4);
  assert.ok(Math.abs(d.width.mean! - 2) < 1e-12 && Math.abs(d.width.std! - Math.sqrt(7)) < 1e-12);
  assert.is(d.wider, 2);
  // 0.5, −1, 0, (skipped): a tie is not wider.
  assert.is(d.lossWidth.count, 3);
  assert.is(d.lossWider, 1);
  assert.throws(() => rayDifference(sol('a', [1], [1]), sol('b', [1, 2], [1, 2])), /1 directions for a, 2 for b/);
});

test("plane grid: the points' bounding box widened by the margin on both axes, ends exact", () => {
  const g = planeGrid(
    [
      [0, 0],
      [2, 0],
      [1, 1],
    ],
    5,
    0.25,
  );
  assert.equal(g.xs, [-0.5, 0.25, 1, 1.75, 2.5]);
  assert.equal(g.ys, [-0.25, 0.125, 0.5, 0.875, 1.25]);
});

test('contour levels: count bands from min to max, crowding towards the minimum; band of edge values', () => {
  const l = contourLevels(2, 12, 5);
  assert.is(l.length, 6);
  assert.is(l[0], 2);
  assert.is(l[5], 12);
  for (let k = 1; k < l.length; k++) assert.ok(l[k] > l[k - 1]);
  for (let k = 2; k < l.length; k++) assert.ok(l[k] - l[k - 1] > l[k - 1] - l[k - 2], 'bands widen upwards');
  assert.is(bandOf(2, l), 0);
  assert.is(bandOf(l[1], l), 1, 'a value on a boundary belongs to the band above');
  assert.is(bandOf(12, l), 4, 'the maximum is in the top band');
  assert.is(bandOf(99, l), 4);
  assert.is(bandOf(NaN, l), -1);
});

test('level labels: three significant digits, more when neighbours would read the same', () => {
  assert.equal(levelLabels([0.25, 1.5, 230]), ['0.25', '1.5', '230']);
  assert.equal(levelLabels([10.55, 10.62, 10.7]), ['10.55', '10.62', '10.7']);
  assert.is(levelLabel(0.0000123), '1.23e-5');
});

test('isolines: a linear field gives a straight isoline; a saddle cell gives two segments split by its centre', () => {
  const xs = [0, 1, 2, 3];
  const ys = [0, 1, 2];
  const z = ys.map(() => xs.map((x) => x));
  const seg = isolines(xs, ys, z, 1.5);
  assert.is(seg.length, 2);
  for (const [x1, , x2] of seg) assert.ok(x1 === 1.5 && x2 === 1.5);
  assert.is(
    seg.reduce((s, [, y1, , y2]) => s + Math.abs(y2 - y1), 0),
    2,
    'spans the whole y range',
  );
  // Corners (0,0)=1, (1,0)=0, (1,1)=1, (0,1)=0: centre 0.5 ≥ 0.4 joins the high corners, cutting off the low ones.
  const saddle = isolines(
    [0, 1],
    [0, 1],
    [
      [1, 0],
      [0, 1],
    ],
    0.4,
  );
  assert.is(saddle.length, 2);
  const ends = saddle
    .map(([a, b, c, d]) =>
      [
        [a, b],
        [c, d],
      ]
        .map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`)
        .sort()
        .join(' '),
    )
    .sort();
  assert.equal(ends, ['0.00,0.60 0.40,1.00', '0.60,0.00 1.00,0.40']);
});

test('contour map: bands in every level colour, isolines, marks, colour scale labels; panels side by side', () => {
  const xs = [0, 1, 2, 3, 4];
  const ys = [0, 1, 2];
  const z = ys.map((y) => xs.map((x) => (x - 2) ** 2 + y));
  const svg = contourMap(xs, ys, z, {
    title: 'T <1>',
    marks: [
      { label: 'SWA & co', x: 2, y: 0 },
      { label: 'p', x: 1, y: 1, shape: 'circle' },
    ],
    valueLabel: 'Loss',
  });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.trim().endsWith('</svg>'));
  assert.ok(
    svg.includes('T &lt;1&gt;') && svg.includes('SWA &amp; co') && svg.includes('<circle'),
    'escaped title and marks',
  );
  assert.ok(svg.includes('fill="#440154"') && svg.includes('fill="#fde725"'), 'lowest and highest colours used');
  assert.ok((svg.match(/stroke-opacity="0.45"/g) ?? []).length >= 3, 'isolines at inner levels');
  assert.ok(svg.includes('>6</text>') && svg.includes('>0</text>'), 'colour scale ends labelled');
  assert.throws(() => contourMap(xs, ys, [[1, 2]]), /rows of/);
  const flat = contourMap(
    [0, 1],
    [0, 1],
    [
      [10.55, 10.6],
      [10.62, 12.5],
    ],
  );
  const scale = [...flat.matchAll(/font-size="10">([\s\S]*?)<\/g>/g)][0][1];
  const labels = [...scale.matchAll(/<text[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
  assert.is(labels.length, 8);
  assert.is(new Set(labels).size, labels.length, `colour scale labels are distinct: ${labels.join(' ')}`);
  const both = sideBySide([svg, svg], 'Both');
  assert.ok(
    both.includes('<svg x="0" y="30" ') && /<svg x="480" y="30" /.test(both),
    "second panel offset by the first one's width",
  );
  assert.is((both.match(/<svg /g) ?? []).length, 3);
});

test('csv: quotes cells with commas or quotes, leaves non-finite numbers empty', () => {
  assert.is(
    csv(
      ['a', 'b'],
      [
        ['x,y', 1],
        ['say "hi"', NaN],
        [null, Infinity],
      ],
    ),
    'a,b\n"x,y",1\n"say ""hi""",\n,\n',
  );
});

test.run();
