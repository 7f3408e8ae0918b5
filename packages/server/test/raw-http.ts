import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from connecting until the server closed the connection. */
  closedAfterMs: number;
}

/**
 * Sends bytes exactly as given (a malformed request line, an absolute-form target, a header twice)
 * and reads until the server closes the connection: fetch would refuse or normalise what these
 * tests need to send. `drip` writes the bytes one every `drip.everyMs` instead of at once.
 */
export function rawRequest(
  url: string,
  bytes: string,
  options: { drip?: { everyMs: number }; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No close within ${options.timeoutMs ?? 10_000} ms; got: ${Buffer.concat(chunks)}`));
    }, options.timeoutMs ?? 10_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(deadline);
      clearInterval(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        if (at > 0) headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1] ?? 0),
        headers,
        body: rest.join('\r\n\r\n'),
        closedAfterMs: Date.now() - started,
      });
    });
    socket.on('connect', () => {
      if (!options.drip) {
        socket.write(bytes);
        return;
      }
      let at = 0;
      timer = setInterval(() => {
        if (at < bytes.length && !socket.destroyed) socket.write(bytes[at++] ?? '');
      }, options.drip.everyMs);
    });
  });
}

/** The body of a chunked or plain response as JSON, or undefined. */
export function jsonOf(response: RawResponse): unknown {
  const body = response.headers['transfer-encoding'] === 'chunked' ? dechunk(response.body) : response.body;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 4 + size);
  }
}
