/**
 * What failed on the wire, named from error codes only (a transport's message can carry
 * upstream text). undici's fetch throws `TypeError: fetch failed` and keeps the reason in
 * `cause` (ECONNREFUSED, UND_ERR_CONNECT_TIMEOUT, ...): the code is looked for down the chain.
 */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `connection refused (ECONNREFUSED)`, `timed out after 15000 ms`, ...: never a bare "(TypeError)". */
export function describeNetworkError(error: unknown, options: { timeoutMs?: number } = {}): string {
  const code = networkErrorCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused (${code})`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `connection reset (${code})`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `timed out connecting (${code})`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `timed out waiting for the answer (${code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${code})`;
    case undefined:
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
        return options.timeoutMs === undefined ? 'timed out' : `timed out: no answer within ${options.timeoutMs} ms`;
      return 'network error (no error code)';
    default:
      return `network error (${code})`;
  }
}
