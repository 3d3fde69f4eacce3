/** The request header a client sends its device token in (lib/storage/devices.ts says why not a cookie). */
export const DEVICE_HEADER = 'Latchkey-Device';
