import { adminAuditOperations } from "./admin-audit.server";
import { adminSettingsOperations } from "./admin-settings.server";
import { adminUserOperations } from "./admin-users.server";
import { meOperations } from "./me.server";
import type { Operation } from "./operation.server";

/** Your own account and administration: one list for API_OPERATIONS. */
export const accountOperations: Operation[] = [
  ...meOperations,
  ...adminUserOperations,
  ...adminAuditOperations,
  ...adminSettingsOperations,
];
