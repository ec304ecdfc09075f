import { XMLParser, XMLValidator } from "fast-xml-parser";
import { AppError } from "~/domain/errors";

/**
 * WebDAV request bodies: read with a size limit, refused when they declare a DOCTYPE (no
 * entities of any kind, so no external entities and no billion laughs), validated, then parsed
 * into elements whose names are resolved to (namespace, local name).
 */

export const DAV = "DAV:";
/** The largest XML body Coffer reads (PROPFIND, PROPPATCH, LOCK); more is refused with 413. */
export const MAX_XML_BODY = 256 * 1024;

export interface XmlElement {
  ns: string;
  name: string;
  children: XmlElement[];
  text: string;
}

type RawNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: "#comment",
});

/** Reads the whole (small) body; over `limit` bytes it stops and throws 413. */
export async function readSmallBody(
  req: NodeJS.ReadableStream & { headers?: Record<string, unknown> },
  limit = MAX_XML_BODY,
): Promise<Buffer> {
  const declared = Number((req.headers as Record<string, string | undefined> | undefined)?.["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw new AppError(413, "The request body is too large.");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > limit) throw new AppError(413, "The request body is too large.");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size);
}

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (whole, ref: string) => {
    if (ref === "lt") return "<";
    if (ref === "gt") return ">";
    if (ref === "amp") return "&";
    if (ref === "quot") return '"';
    if (ref === "apos") return "'";
    const code = ref.startsWith("#x") ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/** Parses an XML body; null when it is empty. Malformed XML or a DOCTYPE is a 400. */
export function parseXml(body: Buffer): XmlElement | null {
  const text = body.toString("utf8");
  if (text.trim() === "") return null;
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new AppError(400, "XML bodies with a DOCTYPE or entities are refused.");
  if (XMLValidator.validate(text) !== true) throw new AppError(400, "The XML body is not well-formed.");
  const nodes = parser.parse(text) as RawNode[];
  const root = nodes.find((node) => elementName(node) !== null);
  if (!root) throw new AppError(400, "The XML body has no element.");
  return resolve(root, new Map([["xml", "http://www.w3.org/XML/1998/namespace"]]));
}

function elementName(node: RawNode): string | null {
  for (const key of Object.keys(node)) if (key !== ":@" && key !== "#text" && key !== "#comment") return key;
  return null;
}

function resolve(node: RawNode, scope: Map<string, string>): XmlElement {
  const tag = elementName(node)!;
  const attributes = (node[":@"] ?? {}) as Record<string, string>;
  let inner = scope;
  for (const [attribute, value] of Object.entries(attributes)) {
    if (attribute === "xmlns" || attribute.startsWith("xmlns:")) {
      // Namespaces 1.0 §3: a prefix cannot be bound to the empty name (only the default namespace can).
      if (attribute !== "xmlns" && value === "")
        throw new AppError(400, `The XML prefix “${attribute.slice(6)}” is bound to an empty namespace.`);
      if (inner === scope) inner = new Map(scope);
      inner.set(attribute === "xmlns" ? "" : attribute.slice(6), decodeEntities(value));
    }
  }
  const colon = tag.indexOf(":");
  const prefix = colon === -1 ? "" : tag.slice(0, colon);
  const name = colon === -1 ? tag : tag.slice(colon + 1);
  const ns = inner.get(prefix);
  if (ns === undefined && prefix !== "") throw new AppError(400, `The XML prefix “${prefix}” is not declared.`);
  const children: XmlElement[] = [];
  let text = "";
  for (const child of (node[tag] ?? []) as RawNode[]) {
    if ("#text" in child) text += decodeEntities(String(child["#text"]));
    else if (elementName(child) !== null) children.push(resolve(child, inner));
  }
  return { ns: ns ?? "", name, children, text };
}

export function child(element: XmlElement | null | undefined, ns: string, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.ns === ns && c.name === name);
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));
}

/** An element written back as XML, each element declaring its own namespace (so it stands alone). */
export function serialize(element: XmlElement): string {
  const inner = element.children.length > 0 ? element.children.map(serialize).join("") : escapeXml(element.text);
  return `<${element.name} xmlns="${escapeXml(element.ns)}">${inner}</${element.name}>`;
}

/** The content of a property element (its text or its child elements), for storing. */
export function innerXml(element: XmlElement): string {
  return element.children.length > 0 ? element.children.map(serialize).join("") : escapeXml(element.text);
}
