/** Live events pushed to a user's open tabs (sent by the Socket.IO host, read in the browser). */
export type LiveEvent =
  | { type: "file:created"; file: { id: string; name: string; folderId: string; size: number } }
  | { type: "folder:changed"; folderId: string }
  | { type: "thumbnail:ready"; fileId: string; folderId: string }
  /** A notification arrived: the page on screen (the list, later the bell) refreshes. */
  | { type: "notification:new" };
