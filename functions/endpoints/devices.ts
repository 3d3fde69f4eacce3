/**
 * GET /devices — the account's known devices; DELETE /devices/{id} — end one of them, only the
 * account's own (lib/flows/devices.ts).
 */
import { z } from '@hono/zod-openapi';
import { endDevice, listDevices, type DeviceListOutcome, type EndDeviceOutcome } from '../../lib/flows/devices.ts';
import { json, type AnswerTable } from '../../lib/http/answers.ts';
import { presentedOf, respondInFlow } from '../../lib/http/bearer.ts';
import { details } from '../../lib/http/problems.ts';
import { createRouter } from '../../lib/http/router.ts';
import { bearerRoute, bearerRouteWithParams } from '../../lib/http/bearer-routes.ts';
import { isoTime, text } from '../../lib/http/schemas.ts';
import { DEVICE_HEADER } from '../../lib/http/device-header.ts';

const DeviceEntry = z
  .object({
    id: z.string(),
    createdAt: z.string().datetime().openapi({ description: 'The login that first made this device known' }),
    lastUsedAt: z.string().datetime().optional().openapi({ description: 'When a login last presented its token, if one has since it was issued' }),
    expiresAt: z.string().datetime(),
    current: z.boolean().optional().openapi({ description: `Whether the request's ${DEVICE_HEADER} header holds this device's token` }),
  })
  .openapi('DeviceEntry');

const LIST: AnswerTable<DeviceListOutcome> = {
  listed: {
    status: 200,
    description: "The account's known devices, most recently used first",
    json: json(z.object({ devices: z.array(DeviceEntry) }), (o: DeviceListOutcome) => ({
      devices: o.devices.map((d) => ({
        id: d.id,
        createdAt: isoTime(d.createdAt),
        ...(d.lastUsedAt === null ? {} : { lastUsedAt: isoTime(d.lastUsedAt) }),
        expiresAt: isoTime(d.expiresAt),
        current: d.current,
      })),
    })),
  },
};

const END_ONE: AnswerTable<EndDeviceOutcome> = {
  ended: { status: 204, description: 'The device is forgotten: its token no longer skips the login back-off', empty: true },
  unknown: {
    status: 404,
    description: "No unexpired device of this account has that id (another account's is answered the same)",
    problem: () => details('device-not-found', 'No such device', 'None of your devices has this id.'),
  },
};

const listRoute = bearerRoute({
  method: 'get',
  path: '/devices',
  operationId: 'listDevices',
  summary: "The account's known devices",
  description:
    `Devices whose token (from POST /login) skips the login back-off: when each was first known and last presented, and when it expires. ` +
    `Send the ${DEVICE_HEADER} header too to have your own marked current. A reset or a change of the password ends them all.`,
  answers: LIST,
  edges: [],
  inFlow: true,
});
const endRoute = bearerRouteWithParams({
  method: 'delete',
  path: '/devices/{id}',
  operationId: 'endDevice',
  summary: "Forget one of the account's devices",
  description: "Only the account's own devices: another account's device id is a 404, like an unknown one.",
  params: z.object({ id: text(64).openapi({ param: { name: 'id', in: 'path' }, description: 'A device id from GET /devices' }) }),
  answers: END_ONE,
  edges: ['invalid-fields'],
  inFlow: true,
});

export const devicesEndpoints = createRouter()
  .openapi(listRoute, async function showDevices(c) {
    const { db, config, now } = c.get('deps');
    return respondInFlow(c, LIST, await listDevices({ db, config, log: c.get('log') }, presentedOf(c), c.req.header(DEVICE_HEADER), now()));
  })
  .openapi(endRoute, async function endOneDevice(c) {
    const { db, config, now } = c.get('deps');
    const { id } = c.req.valid('param');
    return respondInFlow(c, END_ONE, await endDevice({ db, config, log: c.get('log') }, presentedOf(c), id, now()));
  });
