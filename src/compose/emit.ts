/**
 * The switchyard.yml text: the config as YAML, a header naming the compose files it came from, and
 * a short comment on the keys whose value was decided rather than copied.
 */
import { Document, isMap, isScalar, type Pair, type Scalar, type YAMLMap } from 'yaml';
import type { JsonMap } from './types.js';

function findPair(doc: Document, dotted: string): Pair | undefined {
  const keys = dotted.split('.');
  let node: unknown = doc.contents;
  let pair: Pair | undefined;
  for (const k of keys) {
    if (!isMap(node)) return undefined;
    pair = (node as YAMLMap).items.find((p) => isScalar(p.key) && String((p.key as Scalar).value) === k) as
      | Pair
      | undefined;
    if (!pair) return undefined;
    node = pair.value;
  }
  return pair;
}

export function emitConfig(config: JsonMap, header: string[], comments: Map<string, string>): string {
  const doc = new Document(config);
  doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  for (const [at, text] of comments) {
    const pair = findPair(doc, at);
    if (pair && isScalar(pair.key))
      (pair.key as Scalar).commentBefore = text
        .split('\n')
        .map((l) => ` ${l}`)
        .join('\n');
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}
