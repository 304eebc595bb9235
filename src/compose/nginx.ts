/**
 * Just enough of nginx's configuration language to find a proxy's routes: a tokenizer (words,
 * quoted strings, `;`, `{`, `}`, comments) and a walk that returns each `location` with its
 * `proxy_pass`, each `upstream` with its servers, each `include`, and the TLS files. No maintained
 * npm parser fits (the few there are unmaintained or need a real nginx); this reads only what the
 * routes need and leaves the rest.
 */
export interface Directive {
  name: string;
  args: string[];
  line: number;
  block?: Directive[];
}

type Token = { t: string; line: number; quoted: boolean };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') line++;
    if (/\s/.test(c)) i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === ';' || c === '{' || c === '}') out.push({ t: c, line, quoted: false }), i++;
    else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        if (text[j] === '\n') line++;
        s += text[j];
        j++;
      }
      out.push({ t: s, line, quoted: true });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s;{}]/.test(text[j] as string)) j++;
      out.push({ t: text.slice(i, j), line, quoted: false });
      i = j;
    }
  }
  return out;
}

/** Parses nginx configuration text into directives; throws on unbalanced braces. */
export function parseNginx(text: string): Directive[] {
  const tokens = tokenize(text);
  let i = 0;
  const block = (top: boolean): Directive[] => {
    const out: Directive[] = [];
    let cur: Directive | undefined;
    while (i < tokens.length) {
      const tok = tokens[i++] as Token;
      if (!tok.quoted && tok.t === '}') {
        if (top) throw new Error(`unexpected "}" on line ${tok.line}`);
        return out;
      }
      if (!tok.quoted && tok.t === ';') {
        if (cur) out.push(cur);
        cur = undefined;
      } else if (!tok.quoted && tok.t === '{') {
        const d = cur ?? { name: '', args: [], line: tok.line };
        d.block = block(false);
        out.push(d);
        cur = undefined;
      } else if (cur) cur.args.push(tok.t);
      else cur = { name: tok.t, args: [], line: tok.line };
    }
    if (!top) throw new Error('unexpected end of file: a "}" is missing');
    return out;
  };
  return block(true);
}

export interface NginxFacts {
  locations: { path: string; modifier?: string; pass?: string; file: string; line: number }[];
  upstreams: Map<string, string[]>;
  includes: { pattern: string; file: string; line: number }[];
  tls: { cert?: string; key?: string };
}

/** What `dirs` (read from `file`) say about routes; adds to `facts` when given. */
export function nginxFacts(dirs: Directive[], file: string, facts?: NginxFacts): NginxFacts {
  const f: NginxFacts = facts ?? { locations: [], upstreams: new Map(), includes: [], tls: {} };
  for (const d of dirs) {
    if (d.name === 'upstream' && d.block)
      f.upstreams.set(
        d.args[0] ?? '',
        d.block.filter((s) => s.name === 'server').map((s) => s.args[0] ?? ''),
      );
    else if (d.name === 'location' && d.block) {
      const [a, b] = d.args;
      const loc = b === undefined ? { path: a ?? '/' } : { modifier: a, path: b };
      const pass = d.block.find((s) => s.name === 'proxy_pass')?.args[0];
      f.locations.push({ ...loc, ...(pass ? { pass } : {}), file, line: d.line });
    } else if (d.name === 'include') f.includes.push({ pattern: d.args[0] ?? '', file, line: d.line });
    else if (d.name === 'ssl_certificate') f.tls.cert = d.args[0];
    else if (d.name === 'ssl_certificate_key') f.tls.key = d.args[0];
    if (d.block && d.name !== 'location' && d.name !== 'upstream') nginxFacts(d.block, file, f);
  }
  return f;
}
