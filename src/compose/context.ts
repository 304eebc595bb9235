/**
 * What every part of the conversion shares: the merged model as written (`raw`, for the text) and
 * as compose reads it (`val`, for the decisions), the location of each value, the folders paths are
 * read from and written for, and the notes.
 */
import { locate } from './interpolate.js';
import type { ParsedFile } from './parse.js';
import { rebase } from './paths.js';
import { rewriteForSwitchyard } from './rewrite.js';
import type { Vars } from './template.js';
import { type ComposeNote, isMap, type Json, type JsonMap, type Loc, type Path } from './types.js';

export class Ctx {
  readonly decisions: ComposeNote[] = [];
  readonly unsupported: ComposeNote[] = [];
  /** Comments for the written file, by output path (dotted). */
  readonly comments = new Map<string, string>();

  /**
   * `dir`: what the notes' file names are relative to; `project`: compose's project folder, which
   * relative paths in compose start from; `outDir`: the folder of the switchyard.yml, which they are
   * written relative to.
   */
  constructor(
    readonly dir: string,
    readonly model: ParsedFile,
    readonly val: JsonMap,
    readonly vars: Vars,
    readonly project: string = dir,
    readonly outDir: string = project,
  ) {}

  /** A compose path (relative to the project folder) as switchyard.yml names it; `dot`: "./" first. */
  hostPath(p: string, dot = false): string {
    return rebase(p, this.project, this.outDir, dot);
  }

  loc(at: Path): Loc {
    return locate(this.model, at);
  }

  decide(at: Path, message: string): void {
    this.decisions.push({ ...this.loc(at), message });
  }

  refuse(at: Path, message: string): void {
    this.unsupported.push({ ...this.loc(at), message });
  }

  decideAt(at: Loc, message: string): void {
    this.decisions.push({ ...at, message });
  }

  refuseAt(at: Loc, message: string): void {
    this.unsupported.push({ ...at, message });
  }

  comment(outPath: string, text: string): void {
    const had = this.comments.get(outPath);
    this.comments.set(outPath, had ? `${had}\n${text}` : text);
  }

  /** The value at `at` as compose reads it (interpolated). */
  get(at: Path): Json | undefined {
    return dig(this.val, at);
  }

  /** The value at `at` as written, made into what switchyard.yml can hold (see rewrite.ts). */
  out(at: Path): Json | undefined {
    const v = dig(this.model.data, at);
    if (typeof v !== 'string') return v;
    const r = rewriteForSwitchyard(v, this.vars);
    for (const n of r.notes) this.decide(at, `${at.join('.')}: ${n}`);
    return r.text;
  }
}

export function dig(v: Json | undefined, at: Path): Json | undefined {
  let cur = v;
  for (const k of at) {
    if (Array.isArray(cur) && typeof k === 'number') cur = cur[k];
    else if (isMap(cur) && Object.hasOwn(cur, String(k))) cur = cur[String(k)];
    else return undefined;
  }
  return cur;
}
