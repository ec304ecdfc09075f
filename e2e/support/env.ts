/** Where the end-to-end server listens, and the account global setup creates first (the admin). */
export const E2E_PORT = Number(process.env.E2E_PORT ?? 3210);
export const E2E_PG_PORT = Number(process.env.E2E_PG_PORT ?? 54391);
export const BASE_URL = `http://127.0.0.1:${E2E_PORT}`;

export const ADMIN = {
  name: "E2E Admin",
  email: "admin@e2e.test",
  password: "violet-tractor-moonlight-7391",
} as const;
