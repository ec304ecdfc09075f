import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { apiPath, apiRouter } from "~/route-helpers/api/router.server";

/** Every /api/v1 request goes to the API router (app/route-helpers/api), reads and changes alike. */
export function loader({ request, context }: LoaderFunctionArgs) {
  return apiRouter.handle(context.services, request, apiPath(request), context.clientIp);
}

export function action({ request, context }: ActionFunctionArgs) {
  return apiRouter.handle(context.services, request, apiPath(request), context.clientIp);
}
