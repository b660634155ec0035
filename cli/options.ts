// The one option parser of every swa-engine command: `--name VALUE` or `--name=VALUE`, unique prefixes as in
// Python's argparse, `--no-<flag>`, positional arguments where a command declares them; every number range-checked
// and every choice checked. Bad input throws a one-line UsageError naming the option (and the closest valid one);
// `--help`, and no arguments at all, print the help.

/** Bad command-line input: the dispatcher (cli/main.ts) prints its message on one line and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

interface Common {
  /** One line for --help. */
  help: string;
  /** The value's placeholder in --help (e.g. 'N', 'DIR'). */
  arg?: string;
  /** The default as --help shows it when it is not a plain value (e.g. '0.2·lr'). */
  defaultText?: string;
  /** An environment variable read when the option is not given (only CLIs read the environment). */
  env?: string;
  /** Must be given. */
  required?: boolean;
}

/** `--x` sets true, `--no-x` false. */
export interface FlagSpec extends Common {
  type: 'flag';
  default?: boolean;
}

/** A finite decimal number; `min`/`max` bound it inclusively, `above`/`below` exclusively. */
export interface NumberSpec extends Common {
  type: 'number';
  default?: number;
  integer?: boolean;
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/** Comma-separated numbers, each checked as a NumberSpec is. */
export interface ListSpec extends Omit<NumberSpec, 'type' | 'default'> {
  type: 'list';
  default?: readonly number[];
}

/** One of `values`; `noun` names them in the error ("unknown data set …"). */
export interface ChoiceSpec extends Common {
  type: 'choice';
  values: readonly string[];
  default?: string;
  noun?: string;
}

/**
 * Any string, optionally checked: `check` returns what is wrong with it, or null. A `positional` one is given without
 * a name (`swa-engine analyze RUN_DIR`), in the table's order, and named by its `arg` in help and errors.
 */
export interface StringSpec extends Common {
  type: 'string';
  default?: string;
  check?: (value: string) => string | null;
  positional?: boolean;
}

export type OptionSpec = FlagSpec | NumberSpec | ListSpec | ChoiceSpec | StringSpec;
export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<S> = S extends { type: 'flag' }
  ? boolean
  : S extends { type: 'number' }
    ? number
    : S extends { type: 'list' }
      ? number[]
      : S extends { type: 'choice'; values: readonly (infer V)[] }
        ? V
        : string;

/** The parsed options: each typed by its spec, undefined when neither given nor defaulted nor required. */
export type Values<T extends OptionTable> = {
  -readonly [K in keyof T]: T[K] extends { default: unknown } | { required: true }
    ? ValueOf<T[K]>
    : ValueOf<T[K]> | undefined;
};

/** A command: its name as typed ('swa-engine train'), a one-line summary, its options and closing notes. */
export interface Command<T extends OptionTable> {
  name: string;
  summary: string;
  options: T;
  notes?: string;
}

/** Levenshtein distance, for naming the closest valid option or value. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word`: by edit distance, preferring candidates that contain it or that it contains
 * (so 'mnist' suggests 'fashion-mnist'); ties go to the first.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const related = candidates.filter((c) => c.includes(word) || word.includes(c));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of related.length ? related : candidates) {
    const d = distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/** The candidate closest to `word` when it is plausibly a misspelling of it (within half its length), else none. */
function nearMiss(word: string, candidates: readonly string[]): string | undefined {
  const c = closest(word, candidates);
  return c !== undefined && (c.includes(word) || distance(word, c) <= Math.max(1, word.length / 2)) ? c : undefined;
}

/** Splits `text` into lines of at most `width` columns at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** --help lines stay within this many columns. */
const HELP_COLUMNS = 120;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function rangeText(s: Omit<NumberSpec, 'type' | 'default'>): string {
  const lo = s.min !== undefined ? `[${s.min}` : s.above !== undefined ? `(${s.above}` : null;
  const hi = s.max !== undefined ? `${s.max}]` : s.below !== undefined ? `${s.below})` : null;
  const what = s.integer ? 'an integer' : 'a number';
  if (lo && hi) return `${what} in ${lo}, ${hi}`;
  if (s.min !== undefined) return `${what} ≥ ${s.min}`;
  if (s.above !== undefined) return `${what} > ${s.above}`;
  if (s.max !== undefined) return `${what} ≤ ${s.max}`;
  if (s.below !== undefined) return `${what} < ${s.below}`;
  return what;
}

function toNumber(label: string, text: string, s: Omit<NumberSpec, 'type' | 'default'>): number {
  const x = DECIMAL.test(text.trim()) ? Number(text) : NaN;
  const ok =
    Number.isFinite(x) &&
    (!s.integer || Number.isInteger(x)) &&
    (s.min === undefined || x >= s.min) &&
    (s.max === undefined || x <= s.max) &&
    (s.above === undefined || x > s.above) &&
    (s.below === undefined || x < s.below);
  if (!ok) throw new UsageError(`${label} must be ${rangeText(s)}, got '${text}'`);
  return x;
}

function convert(label: string, text: string, s: OptionSpec): unknown {
  switch (s.type) {
    case 'number':
      return toNumber(label, text, s);
    case 'list': {
      const items = text.split(',').map((t) => t.trim());
      if (items.some((t) => t === '')) throw new UsageError(`${label} must be a comma-separated list, got '${text}'`);
      return items.map((t) => toNumber(`${label} (each)`, t, s));
    }
    case 'choice': {
      if (s.values.includes(text)) return text;
      const near = nearMiss(text, s.values);
      throw new UsageError(
        `${label}: unknown ${s.noun ?? 'value'} ${text} (${s.values.join(', ')})` +
          (near ? `; did you mean ${near}?` : ''),
      );
    }
    case 'string': {
      const problem = s.check?.(text) ?? null;
      if (problem !== null) throw new UsageError(`${label}: ${problem}`);
      return text;
    }
    case 'flag':
      throw new Error(`${label}: a flag has no value to convert`);
  }
}

/** Which option `word` (without the dashes) names: exact, else a unique prefix; throws UsageError otherwise. */
function resolve(word: string, names: readonly string[]): string {
  if (names.includes(word)) return word;
  const hits = names.filter((n) => n.startsWith(word));
  if (hits.length === 1) return hits[0];
  if (hits.length > 1) throw new UsageError(`ambiguous option --${word}: ${hits.map((h) => `--${h}`).join(', ')}`);
  throw new UsageError(`unknown option --${word} (the closest is --${closest(word, names)})`);
}

/** How help and errors name an option: its placeholder for a positional argument, else --name. */
function label(name: string, s: OptionSpec): string {
  return s.type === 'string' && s.positional ? (s.arg ?? name.toUpperCase()) : `--${name}`;
}

/**
 * Parses `argv` against `options`, with `env` for options that name an environment variable. Returns 'help' when
 * --help or -h is given. Throws UsageError (one line) for an unknown, ambiguous, repeated or misspelt option, a
 * missing or bad value, a stray argument or a missing required option. Arguments that do not start with a dash
 * (and every argument after `--`) fill the positional options in order.
 */
export function parseOptions<T extends OptionTable>(
  options: T,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Values<T> | 'help' {
  const all = Object.keys(options);
  const isPositional = (n: string): boolean => {
    const s = options[n];
    return s.type === 'string' && s.positional === true;
  };
  const names = all.filter((n) => !isPositional(n));
  const slots = all.filter(isPositional);
  const negated = names.filter((n) => options[n].type === 'flag').map((n) => `no-${n}`);
  const words = [...names, ...negated, 'help'];
  const given = new Map<string, unknown>();
  let onlyPositional = false;
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (!onlyPositional && (tok === '-h' || tok === '--help')) return 'help';
    if (!onlyPositional && tok === '--' && slots.length) {
      onlyPositional = true;
      continue;
    }
    const positional = onlyPositional || !tok.startsWith('-') || tok === '-';
    if (positional || !tok.startsWith('--') || tok === '--') {
      const slot = positional ? slots.find((n) => !given.has(n)) : undefined;
      if (slot === undefined) {
        const filled = slots.map((n) => `${label(n, options[n])} is '${given.get(n)}'`).join(', ');
        const why = !slots.length
          ? 'every input is an option: --name value'
          : positional
            ? filled
            : 'options start with --';
        throw new UsageError(`unexpected argument '${tok}' (${why})`);
      }
      given.set(slot, convert(label(slot, options[slot]), tok, options[slot]));
      continue;
    }
    const eq = tok.indexOf('=');
    const word = resolve(eq < 0 ? tok.slice(2) : tok.slice(2, eq), words);
    if (word === 'help') return 'help';
    const name = negated.includes(word) ? word.slice(3) : word;
    const spec = options[name];
    if (given.has(name)) throw new UsageError(`--${name} is given twice`);
    if (spec.type === 'flag') {
      if (eq >= 0) throw new UsageError(`--${word} takes no value, got '${tok.slice(eq + 1)}'`);
      given.set(name, word === name);
      continue;
    }
    const text = eq >= 0 ? tok.slice(eq + 1) : argv[++i];
    if (text === undefined || (eq < 0 && text.startsWith('--')))
      throw new UsageError(`--${name} needs a value (${spec.arg ?? 'VALUE'})`);
    given.set(name, convert(`--${name}`, text, spec));
  }
  const out: Record<string, unknown> = {};
  for (const name of all) {
    const spec = options[name];
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (given.has(name)) out[name] = given.get(name);
    else if (fromEnv !== undefined && fromEnv !== '' && spec.type !== 'flag') {
      out[name] = convert(`${spec.env} (--${name})`, fromEnv, spec);
    } else if (spec.required) throw new UsageError(`${label(name, spec)} is required (${spec.help})`);
    else out[name] = spec.default === undefined ? undefined : structuredClone(spec.default);
  }
  return out as Values<T>;
}

/** The command's --help text: every option with its placeholder, help line, default and environment variable. */
export function helpText<T extends OptionTable>(cmd: Command<T>): string {
  const entries = Object.entries(cmd.options);
  const positional = (s: OptionSpec): boolean => s.type === 'string' && s.positional === true;
  const rows = entries.map(([name, s]) => {
    const left = positional(s)
      ? label(name, s)
      : s.type === 'flag'
        ? `--${name}, --no-${name}`
        : `--${name} ${s.arg ?? 'VALUE'}`;
    const dflt = s.defaultText ?? (s.default === undefined ? undefined : String(s.default));
    const extra = [s.required ? 'required' : dflt === undefined ? '' : `default ${dflt}`, s.env ? `env ${s.env}` : '']
      .filter(Boolean)
      .join('; ');
    return [left, extra ? `${s.help} [${extra}]` : s.help];
  });
  rows.push(['-h, --help', 'print this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const lines = rows.flatMap(([l, r]) =>
    wrap(r, HELP_COLUMNS - width - 2).map((part, i) => `  ${(i === 0 ? l : '').padEnd(width)}${part}`),
  );
  const args = [
    ...entries.filter(([, s]) => positional(s)).map(([n, s]) => (s.required ? label(n, s) : `[${label(n, s)}]`)),
    ...entries.filter(([, s]) => s.required && !positional(s)).map(([n, s]) => `--${n} ${s.arg ?? 'VALUE'}`),
  ];
  const usage = `usage: ${[cmd.name, ...args, '[options]'].join(' ')}`;
  return [`${cmd.name}: ${cmd.summary}`, '', usage, '', ...lines, ...(cmd.notes ? ['', cmd.notes] : [])].join('\n');
}

/**
 * The command's options from the command line (`process.argv` after the script, and the environment). Prints the
 * help and exits 0 for --help, and for no arguments at all unless `allowEmpty` (commands whose defaults are a run:
 * start, demo); throws UsageError for bad input, which the dispatcher (cli/main.ts) prints as one line with exit
 * code 2.
 */
export function parseCommand<T extends OptionTable>(
  cmd: Command<T>,
  argv = process.argv.slice(2),
  opts: { allowEmpty?: boolean } = {},
): Values<T> {
  const values = argv.length === 0 && !opts.allowEmpty ? 'help' : parseOptions(cmd.options, argv, process.env);
  if (values === 'help') {
    console.log(helpText(cmd));
    process.exit(0);
  }
  return values;
}
