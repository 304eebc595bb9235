/** Action request bodies: JSON only, capped in size (413 past the cap, 400 when not JSON). */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads a body of at most `limit` bytes: a declared Content-Length past it is refused before
 * anything is read, and a stream that grows past it is cut off there.
 */
export async function readLimited(
  body: AsyncIterable<Buffer | string>,
  limit: number,
  declaredLength?: string,
): Promise<Buffer> {
  if (declaredLength !== undefined && Number(declaredLength) > limit)
    throw new HttpError(413, `request body over ${limit} bytes`);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** The body as a JSON object (an empty body is `{}`); 400 for another content type or anything but an object. */
export function parseJsonBody(raw: Buffer, contentType: string | undefined): Record<string, unknown> {
  if (raw.length > 0 && !/^application\/json\s*(;|$)/i.test(contentType ?? ''))
    throw new HttpError(400, 'the request body must be application/json');
  if (raw.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HttpError(400, 'the request body must be a JSON object');
  return v as Record<string, unknown>;
}
