/**
 * dashboard: where `switchyard dashboard` listens and the token its actions need (the command's
 * --host/--port/--token win over these). A token written here is a secret like any other (its key
 * name makes it one: never printed); better `${SWITCHYARD_DASHBOARD_TOKEN}` from the environment.
 */
import * as z from 'zod';
import { port } from './schema-prims.js';

export const dashboardSchema = z
  .object({
    listen: z
      .object({
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .meta({ description: 'address: loopback by default; any other needs `token`' }),
        port: port.meta({ description: 'port (without `listen` a free one is picked)' }),
      })
      .strict()
      .optional()
      .meta({ description: 'where the page is served (`--host` / `--port` win)' }),
    token: z
      .string()
      .min(16, 'at least 16 characters')
      .optional()
      .meta({
        description:
          'what actions need in `Authorization: Bearer` (`--token` and SWITCHYARD_DASHBOARD_TOKEN win); ' +
          'absent: one is generated and printed at start. Write it as `${SWITCHYARD_DASHBOARD_TOKEN}` rather ' +
          'than in the file',
      }),
  })
  .strict();

export type DashboardConfig = z.output<typeof dashboardSchema>;
