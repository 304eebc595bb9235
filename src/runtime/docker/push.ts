/**
 * Publishing a release image to the registry other engines pull from (the swarm runtime's nodes,
 * issue 13): the image built here (`<app>-<service>:<release>`) is tagged
 * `<registry>/<app>-<service>:<release>`, pushed, and named by the digest the registry gave it
 * (`<registry>/<app>-<service>@sha256:...`), so a node runs exactly the bytes that were built and
 * checked, never whatever a tag points at later. A registry that refuses the push (unreachable, no
 * such repository, denied, out of space) fails with the registry's own words.
 */
import type Docker from 'dockerode';
import { SwitchyardError, errorMessage } from '../../errors.js';
import { apiMessage, call } from './client.js';
import { splitTag } from './images.js';

/** A push of a few hundred MB to a registry on the same machine takes seconds; a hung one must end. */
export const PUSH_TIMEOUT_MS = 10 * 60_000;

export interface Pushed {
  /** `<registry>/<repo>:<tag>`: what was pushed. */
  tagged: string;
  /** `sha256:...`, the manifest digest the registry stored. */
  digest: string;
  /** `<registry>/<repo>@sha256:...`: what a node is told to run. */
  pinned: string;
}

interface PushEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Tag?: string; Digest?: string; Size?: number };
}

/** Reads the engine's push progress to its end: the digest, or the registry's refusal. */
function followPush(docker: Docker, stream: NodeJS.ReadableStream, signal?: AbortSignal): Promise<PushEvent[]> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(new SwitchyardError('ABORTED', 'the image push was interrupted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    docker.modem.followProgress(stream, (err: Error | null, events: PushEvent[]) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(events);
    });
  });
}

/**
 * Pushes the local image `localRef` (`repo:tag`) to `registry` (`host:port`) and returns it pinned
 * by digest. `authconfig`: credentials for the registry, when it needs them (never printed).
 */
export async function pushImage(
  docker: Docker,
  localRef: string,
  registry: string,
  opts: { signal?: AbortSignal; authconfig?: Docker.AuthConfig } = {},
): Promise<Pushed> {
  const { repo, tag } = splitTag(localRef);
  const remoteRepo = `${registry}/${repo}`;
  const tagged = `${remoteRepo}:${tag}`;
  await call(`tag ${localRef} as ${tagged}`, () => docker.getImage(localRef).tag({ repo: remoteRepo, tag }));
  let events: PushEvent[];
  try {
    const push = async () => {
      const stream = (await docker
        .getImage(tagged)
        // The engine wants an X-Registry-Auth header even for a registry without login: `{}` then.
        .push({ authconfig: opts.authconfig ?? ({} as Docker.AuthConfig) })) as NodeJS.ReadableStream;
      return followPush(docker, stream, opts.signal);
    };
    // The whole push, progress included, is bounded: a registry that stops answering must not hang a deploy.
    events = await call(`push ${tagged}`, push, PUSH_TIMEOUT_MS);
  } catch (e) {
    if (e instanceof SwitchyardError) throw e;
    throw refused(tagged, registry, apiMessage(e) || errorMessage(e));
  }
  const failure = events.find((ev) => ev.error !== undefined || ev.errorDetail !== undefined);
  if (failure) throw refused(tagged, registry, failure.errorDetail?.message ?? failure.error ?? 'unknown error');
  const digest = events.map((ev) => ev.aux?.Digest).find((d) => d !== undefined);
  if (digest === undefined || !/^sha256:[0-9a-f]{64}$/.test(digest))
    throw refused(tagged, registry, 'the engine reported no digest for the pushed image');
  return { tagged, digest, pinned: `${remoteRepo}@${digest}` };
}

function refused(tagged: string, registry: string, words: string): SwitchyardError {
  return new SwitchyardError('PUSH_FAILED', `the registry ${registry} refused ${tagged}: ${words}`, {
    hint:
      `check that the registry answers (\`curl http://${registry}/v2/\`) and accepts pushes from this engine ` +
      `(a registry without TLS needs \`--insecure-registry ${registry}\` on dockerd)`,
  });
}
