/**
 * What every action gives back to its form (as `useActionData`): a message, and on failure the
 * message of each field at fault. `Extra` carries what a page needs besides (which form of
 * several failed, the values to put back, a created link's URL). Built on the server by
 * actionSuccess/actionFailure (app/route-helpers/http.server.ts); shared with the components that show it.
 */
export type ActionSuccess<Extra extends object = object> = { ok: true; message: string } & Extra;
export type ActionFailure<Extra extends object = object> = { ok: false; message: string; fieldErrors: Record<string, string> } & Extra;
export type ActionResult<Success extends object = object, Failure extends object = object> =
  | ActionSuccess<Success>
  | ActionFailure<Failure>;
