import type { Express, NextFunction, Request, Response } from 'express';

export interface RateLimitOptions {
  /** Requests to /api per client address and window (default 1200: 20 a second, sustained). */
  readonly maxRequests?: number;
  readonly windowMs?: number;
}

export interface HttpHardeningOptions {
  /** Served over TLS: browsers are told to use nothing else (HSTS). */
  readonly tls?: boolean;
  readonly rateLimit?: RateLimitOptions;
}

// Vega compiles chart expressions with `new Function` ('unsafe-eval'); scripts still come from this
// origin only. Vega's SVG and the report's <style> need inline styles; exports are data: images.
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Headers on every answer (API, console, reports) and a per-address request limit on the API,
 * installed before any route. Socket.io (site channel, console live) is not routed through here:
 * it has its own admission limits.
 */
export function hardenHttp(app: Express, options: HttpHardeningOptions = {}): void {
  app.disable('x-powered-by');
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (options.tls) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    next();
  });
  app.use('/api', rateLimit(options.rateLimit));
}

/** A fixed window per client address; every counter starts again when the window rolls over, so the map stays bounded. */
function rateLimit({ maxRequests = 1200, windowMs = 60_000 }: RateLimitOptions = {}) {
  let windowStart = Date.now();
  const counts = new Map<string, number>();
  return (req: Request, res: Response, next: NextFunction) => {
    const now = Date.now();
    if (now - windowStart >= windowMs) {
      counts.clear();
      windowStart = now;
    }
    const address = req.socket.remoteAddress ?? 'unknown';
    const count = (counts.get(address) ?? 0) + 1;
    counts.set(address, count);
    if (count <= maxRequests) return next();
    res.setHeader('Retry-After', String(Math.ceil((windowStart + windowMs - now) / 1000)));
    res.status(429).json({ error: { code: 'rate_limited', message: `more than ${maxRequests} requests in ${windowMs / 1000} s from this address; retry later` } });
  };
}
