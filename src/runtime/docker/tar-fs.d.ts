/** The part of tar-fs (a dependency of dockerode, no published types for v2) that images.ts uses. */
declare module 'tar-fs' {
  import type { Readable } from 'node:stream';
  interface TarStreamPack extends Readable {
    entry(
      header: { name: string; mode?: number; size?: number },
      content: string | Buffer,
      cb?: (err?: Error) => void,
    ): void;
    finalize(): void;
  }
  interface PackOptions {
    ignore?: (name: string) => boolean;
    finalize?: boolean;
    finish?: (pack: TarStreamPack) => void;
    dereference?: boolean;
  }
  export function pack(dir: string, opts?: PackOptions): TarStreamPack;
}
