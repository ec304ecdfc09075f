/** What the file viewer shows for a file: built by previews.server.ts, rendered by FileViewer (also in the browser). */
export type ViewerData =
  | { kind: "pdf" | "audio"; src: string }
  | { kind: "image"; src: string; gallery?: Gallery | null }
  | { kind: "video"; src: string; subtitles?: Subtitles | null }
  | {
      kind: "text";
      /**
       * "plain": `text` is the text, escaped when rendered; "code" and "markdown": `text` is safe
       * HTML made on the server (rendered-text.server.ts).
       */
      format: "plain" | "code" | "markdown";
      /** The highlight.js grammar of "code". */
      language: string | null;
      /** Null when the text is in the page's HTML only (a document request). */
      text: string | null;
      truncated: boolean;
      shownBytes: number;
      size: number;
    }
  | { kind: "binary-text" }
  | { kind: "none"; thumbnail: string | null };

/** Where an image is among the images of its folder, and its neighbours (links to their pages). */
export interface Gallery {
  position: number;
  total: number;
  previous: { href: string; name: string } | null;
  next: { href: string; name: string } | null;
}

/** A WebVTT track for a video. */
export interface Subtitles {
  src: string;
  label: string;
}
