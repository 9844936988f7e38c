/** Host names that never leave this machine: plain HTTP is acceptable there and nowhere else. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** True for loopback names and addresses (all of 127.0.0.0/8), as a URL's hostname or a listen host. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
