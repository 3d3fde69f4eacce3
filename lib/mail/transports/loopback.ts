/**
 * Whether a host is this machine (127.0.0.0/8, ::1, localhost): traffic to it never crosses a
 * network, so the SMTP and webhook transports let it go without TLS. Shared by both, and free of
 * node: imports because the webhook transport runs in the Worker too.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
