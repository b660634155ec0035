// swa/report figures: nice ticks on linear and log axes, and well-formed, standalone SVG with every series drawn
// (line charts, and the test-error figure of the paper's Figures 2 and 7).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { niceStep, niceTicks, logTicks, formatTick, lineChart, testErrorFigure } from '../swa/report/index.ts';

// ---------- ticks ----------

test('niceTicks / logTicks / formatTick: 1-2-5 steps covering the range', () => {
  assert.equal(
    [1, 1.5, 2, 2.01, 4.9, 5, 5.1, 9.9].map((s) => niceStep(s, 1)),
    [1, 2, 2, 5, 5, 5, 10, 10],
  );
  assert.is(niceStep(0.0037, 5), 0.001);
  assert.equal(niceTicks(0, 0.97), { ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], step: 0.2 });
  assert.equal(niceTicks(1, 300, 6).ticks, [0, 50, 100, 150, 200, 250, 300]);
  assert.equal(niceTicks(-3.2, 7.1).ticks, [-5, 0, 5, 10]);
  assert.equal(niceTicks(-3.2, 7.1, 6).ticks, [-4, -2, 0, 2, 4, 6, 8]);
  assert.equal(niceTicks(0.6, 1.2).ticks, [0.6, 0.8, 1, 1.2], 'no extra tick from 0.6 / 0.2 = 2.9999…');
  assert.equal(niceTicks(5, 5).ticks, [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6], 'zero span widened by 10%');
  assert.equal(niceTicks(0, 0).ticks, [-1, -0.5, 0, 0.5, 1]);
  assert.throws(() => niceTicks(2, 1), /range/);
  assert.equal(logTicks(5, 60), [5, 10, 20, 50, 100]);
  assert.equal(logTicks(3, 3), [2, 5]);
  assert.equal(logTicks(0.0015, 10), [0.001, 0.01, 0.1, 1, 10], 'powers of ten only beyond two decades');
  assert.throws(() => logTicks(0, 1), /log/);
  assert.equal(
    [formatTick(0.1 * 3, 0.1), formatTick(150, 50), formatTick(-0.0000001, 0.5), formatTick(1e-4), formatTick(20)],
    ['0.3', '150', '0.0', '1e-4', '20'],
  );
});

// ---------- SVG ----------

/**
 * A tiny XML well-formedness check: one root, balanced tags, quoted attributes, only escaped & < > in text.
 * Throws a plain Error (uvu's `assert.throws` rethrows its own assertion errors, so the self-test could not catch
 * them).
 */
function checkXml(xml: string): Map<string, number> {
  const need = (ok: unknown, what: string): void => {
    if (!ok) throw new Error(`not well-formed: ${what}`);
  };
  const counts = new Map<string, number>();
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<>]*")*)\s*(\/?)>/y;
  const badAmp = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  let i = 0;
  let roots = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    need(!badAmp.test(text), `unescaped & in text ${JSON.stringify(text)}`);
    need(!text.includes('>'), `raw > in text ${JSON.stringify(text)}`);
    if (stack.length === 0) need(text.trim() === '', `text outside the root: ${JSON.stringify(text)}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) throw new Error(`not well-formed: malformed tag at ${lt}: ${xml.slice(lt, lt + 60)}`);
    const [whole, close, name, attrs, selfClose] = m;
    need(!badAmp.test(attrs), `unescaped & in attributes of <${name}>`);
    if (close) {
      const open = stack.pop();
      need(open === name, `</${name}> closes <${open}>`);
    } else {
      need(stack.length > 0 || roots++ === 0, `second root <${name}>`);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (!selfClose) stack.push(name);
    }
    i = lt + whole.length;
  }
  need(stack.length === 0, `unclosed ${stack.join(' > ')}`);
  need(roots === 1, 'no root element');
  return counts;
}

test('checkXml catches what it should', () => {
  assert.throws(() => checkXml('<svg><g></svg>'), /closes <g>/);
  assert.throws(() => checkXml('<svg>a & b</svg>'), /unescaped &/);
  assert.throws(() => checkXml('<svg><text>1 > 0</text></svg>'), /raw >/);
  assert.throws(() => checkXml('<svg x=1></svg>'), /malformed tag/);
  assert.throws(() => checkXml('<svg/><svg/>'), /second root/);
  assert.throws(() => checkXml('<svg><g>'), /unclosed svg > g/);
  assert.is(checkXml('<svg><text>a &amp; b &lt;</text></svg>').get('text'), 1);
});

test('lineChart: standalone SVG, escaped text, broken lines at NaN, log axis', () => {
  const svg = lineChart(
    [
      {
        name: 'a <b> & "c"',
        colour: '#1f77b4',
        points: [
          [0, 1],
          [1, 2],
          [2, NaN],
          [3, 4],
          [4, 3],
        ],
      },
      {
        name: "it's dashed",
        colour: 'red',
        dashed: true,
        markers: true,
        points: [
          [0, 2],
          [4, 1],
        ],
      },
    ],
    { title: 'T & <x>', xLabel: 'epoch', yLabel: 'y "val"' },
  );
  const counts = checkXml(svg);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="640" height="400" viewBox="0 0 640 400"/);
  assert.ok(
    svg.includes('a &lt;b&gt; &amp; &quot;c&quot;') &&
      svg.includes('it&apos;s dashed') &&
      svg.includes('T &amp; &lt;x&gt;'),
  );
  const d = [...svg.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]);
  assert.is(d.length, 2);
  assert.equal(
    d.map((x) => [(x.match(/M/g) ?? []).length, (x.match(/L/g) ?? []).length]),
    [
      [2, 2],
      [1, 1],
    ],
    'NaN starts a new subpath',
  );
  assert.is(counts.get('circle'), 2 + 1, 'two markers and one legend marker');
  assert.ok(svg.includes('stroke-dasharray="6 4"'));
  const log = lineChart(
    [
      {
        name: '',
        colour: '#000',
        points: [
          [0, 5],
          [1, 60],
          [2, 0],
          [3, -1],
        ],
      },
    ],
    { logY: true, id: 'l og' },
  );
  checkXml(log);
  const labels = [...log.matchAll(/text-anchor="end">([^<]*)</g)].map((m) => m[1]);
  assert.equal(labels, ['5', '10', '20', '50', '100']);
  assert.ok(
    log.includes('id="l_og-plot"') && !log.includes('fill-opacity'),
    'id sanitised, no legend for unnamed series',
  );
  assert.throws(() => lineChart([], { width: 50, height: 40 }), /too small/);
  assert.throws(() => lineChart([], { yRange: [1, 1] }), /yRange must be finite with min < max/);
  const fixed = lineChart(
    [
      {
        name: 's',
        colour: '#000',
        points: [
          [0, 0.5],
          [10, 2],
        ],
      },
    ],
    { xRange: [0, 10], yRange: [0, 1] },
  );
  assert.ok(
    fixed.includes('clip-path="url(#chart-plot)"') && fixed.includes('>1.0</text>'),
    'fixed range; the line is clipped, not rescaled',
  );
  checkXml(lineChart([]));
});

test('testErrorFigure: SGD, SWA trajectory, averaged iterates and SWA average as in Figures 2 and 7', () => {
  const sgd = Array.from({ length: 10 }, (_, i) => ({ epoch: i + 1, testAccuracy: 0.5 + 0.03 * i }));
  const trajectory = sgd.map((p) => ({ epoch: p.epoch, testAccuracy: p.testAccuracy - 0.02 }));
  const iterates = trajectory.slice(5);
  const swa = iterates.map((p) => ({ epoch: p.epoch, testAccuracy: p.testAccuracy + 0.04 }));
  const svg = testErrorFigure({ sgd: [...sgd, { epoch: 11 }], trajectory, iterates, swa, swaStart: 5 }, { id: 'fig7' });
  const counts = checkXml(svg);
  const paths = [...svg.matchAll(/<path d="([^"]*)" stroke="([^"]*)"/g)];
  assert.equal(
    paths.map((m) => [m[2], (m[1].match(/L/g) ?? []).length]),
    [
      ['#1f77b4', 9],
      ['#2ca02c', 9],
      ['#d62728', 4],
    ],
    'one line each for SGD, trajectory, SWA; the epoch without accuracy is skipped',
  );
  assert.is(counts.get('circle'), 5 + 5 + 2, 'iterates and SWA points, plus their legend markers');
  for (const s of ['SGD', 'SGD (SWA run)', 'SWA iterates', 'SWA', 'SWA start', 'Test error (%)', 'Epoch']) {
    assert.ok(svg.includes(`>${s}</text>`), s);
  }
  // Axes: x ticks 0..10 over px 70..624, y ticks 20..60 (%) over px 350..40; SGD starts at epoch 1, error 50%.
  assert.ok(svg.includes('<path d="M125.4 117.5 L'), 'first SGD point at (70 + 554/10, 40 + 310/4)');
  const only = testErrorFigure({ sgd });
  assert.is(checkXml(only).get('path'), 1);
  assert.not.ok(only.includes('SWA'), 'absent parts leave no legend entry');
});

test.run();
