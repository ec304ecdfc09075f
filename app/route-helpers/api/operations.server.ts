import { accountOperations } from "./admin.server";
import { adminOperationsOperations } from "./admin-operations.server";
import { bulkOperations } from "./bulk.server";
import { fileContentOperations } from "./file-content.server";
import { fileItemOperations, folderOperations } from "./items.server";
import { legalHoldOperations } from "./legal-holds.server";
import { notificationPreferenceOperations } from "./notification-preferences.server";
import type { Operation } from "./operation.server";
import { retentionRuleOperations } from "./retention-rules.server";
import { searchOperations } from "./search.server";
import { shareLinkOperations, userShareOperations } from "./sharing.server";
import { tokenOperations } from "./tokens.server";
import { webhookOperations } from "./webhooks.server";

/** Every operation under /api/v1: the router serves these and the OpenAPI document describes them. */
export const API_OPERATIONS: readonly Operation[] = [
  ...folderOperations,
  ...fileItemOperations,
  ...fileContentOperations,
  ...bulkOperations,
  ...shareLinkOperations,
  ...userShareOperations,
  ...searchOperations,
  ...tokenOperations,
  ...webhookOperations,
  ...notificationPreferenceOperations,

  ...accountOperations,
  ...adminOperationsOperations,
  ...legalHoldOperations,
  ...retentionRuleOperations,
];
