/** What the file viewer shows for a file: built by previews.server.ts, rendered by FileViewer (also in the browser). */
export type ViewerData =
  | { kind: "image" | "pdf" | "audio" | "video"; src: string }
  | {
      kind: "text";
      /** Null when the text is in the page's HTML only (a document request). */
      text: string | null;
      truncated: boolean;
      shownBytes: number;
      size: number;
    }
  | { kind: "binary-text" }
  | { kind: "none"; thumbnail: string | null };
