// Renders /openapi.json as a readable page: operations grouped by tag, their parameters, bodies and answers,
// and every schema. Every element is built with the DOM (text is never parsed as HTML), so the document's
// text cannot inject anything, and the page needs no inline script or style (its CSP allows neither).

const METHODS = ["get", "put", "post", "delete", "patch"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

// Inline markdown: `code` and **bold**; everything else is text.
function inline(text) {
  const parts = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parts.push(text.slice(last, match.index));
    parts.push(match[1] !== undefined ? el("code", {}, match[1]) : el("strong", {}, match[2]));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

// Block markdown, as much as the document's description uses: ## headings, - lists, paragraphs.
function markdown(text) {
  const out = el("div", { class: "prose" });
  let paragraph = [];
  let list = null;
  const flush = () => {
    if (paragraph.length) out.append(el("p", {}, inline(paragraph.join(" "))));
    paragraph = [];
  };
  for (const line of (text || "").split("\n")) {
    if (/^#{1,6} /.test(line)) {
      flush();
      list = null;
      out.append(el("h3", {}, inline(line.replace(/^#+ /, ""))));
    } else if (line.startsWith("- ")) {
      flush();
      if (!list) out.append((list = el("ul")));
      list.append(el("li", {}, inline(line.slice(2))));
    } else if (list && /^\s+\S/.test(line)) {
      list.lastChild.append(" ", ...inline(line.trim()));
    } else if (!line.trim()) {
      flush();
      list = null;
    } else {
      list = null;
      paragraph.push(line.trim());
    }
  }
  flush();
  return out;
}

function refName(ref) {
  return decodeURIComponent(ref.split("/").pop());
}

function schemaLink(ref) {
  const name = refName(ref);
  return el("a", { href: `#schema-${slug(name)}`, class: "ref" }, name);
}

// JSON numbers past 2^53 lose digits in JavaScript; the one the document uses is the largest 64-bit integer.
function number(value) {
  return value >= 2 ** 63 ? "2⁶³ − 1" : String(value);
}

function constraints(schema) {
  const notes = [];
  if (schema.format) notes.push(schema.format);
  if (schema.pattern) notes.push(`pattern ${schema.pattern}`);
  if (schema.minimum !== undefined) notes.push(`≥ ${number(schema.minimum)}`);
  if (schema.maximum !== undefined) notes.push(`≤ ${number(schema.maximum)}`);
  if (schema.minLength !== undefined) notes.push(`at least ${schema.minLength} characters`);
  if (schema.maxLength !== undefined) notes.push(`at most ${schema.maxLength} characters`);
  if (schema.maxItems !== undefined) notes.push(`at most ${schema.maxItems} items`);
  if (schema.default !== undefined) notes.push(`default ${JSON.stringify(schema.default)}`);
  return notes.length ? el("span", { class: "constraints" }, ` (${notes.join(", ")})`) : null;
}

// A one-line summary of a type (a link for references), with its properties listed below when it has any.
function typeOf(schema) {
  if (!schema || Object.keys(schema).length === 0) return el("span", { class: "type" }, "any");
  if (schema.$ref) return schemaLink(schema.$ref);
  const options = schema.anyOf || schema.oneOf;
  if (options) {
    const parts = [];
    options.forEach((option, index) => {
      if (index) parts.push(" | ");
      parts.push(typeOf(option));
    });
    return el("span", {}, parts, constraints(schema));
  }
  if (schema.enum) return el("span", { class: "type" }, `one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`);
  if (schema.const !== undefined) return el("span", { class: "type" }, JSON.stringify(schema.const));
  if (schema.type === "array") return el("span", {}, "array of ", typeOf(schema.items || {}), constraints(schema));
  if (schema.type === "object" && !schema.properties && schema.additionalProperties) {
    const values = schema.additionalProperties === true ? {} : schema.additionalProperties;
    return el("span", {}, "object of ", typeOf(values));
  }
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type || "any";
  return el("span", {}, el("span", { class: "type" }, type), constraints(schema));
}

function properties(schema) {
  if (!schema || !schema.properties) return null;
  const required = new Set(schema.required || []);
  const rows = Object.entries(schema.properties).map(([name, prop]) =>
    el(
      "li",
      {},
      el("code", { class: "name" }, name),
      required.has(name) ? el("span", { class: "required", title: "required" }, " *") : null,
      " ",
      typeOf(prop),
      prop.description ? el("span", { class: "description" }, " — ", inline(prop.description)) : null,
      properties(prop),
    ),
  );
  const closed = schema.additionalProperties === false ? el("li", { class: "closed" }, "no other fields") : null;
  return el("ul", { class: "properties" }, rows, closed);
}

function schemaBlock(schema) {
  return el("div", { class: "schema" }, typeOf(schema), properties(schema));
}

function parametersTable(parameters) {
  const rows = parameters.map((p) =>
    el(
      "tr",
      {},
      el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "required", title: "required" }, " *") : null),
      el("td", {}, p.in),
      el("td", {}, typeOf(p.schema || {}), p.description ? el("div", { class: "description" }, inline(p.description)) : null),
    ),
  );
  return el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type"))), el("tbody", {}, rows));
}

function content(body) {
  return Object.entries(body.content || {}).map(([type, media]) =>
    el("div", { class: "media" }, el("div", { class: "media-type" }, type), schemaBlock(media.schema || {})),
  );
}

function response(doc, status, answer) {
  const resolved = answer.$ref ? doc.components.responses[refName(answer.$ref)] : answer;
  return el(
    "div",
    { class: "response" },
    el("span", { class: `status s${String(status)[0]}` }, status),
    " ",
    inline(resolved.description || ""),
    resolved.headers ? el("div", { class: "headers" }, "headers: ", Object.keys(resolved.headers).join(", ")) : null,
    content(resolved),
  );
}

function operation(doc, path, method, op) {
  const secured = (op.security || doc.security || []).length > 0;
  const id = op.operationId || `${method}-${slug(path)}`;
  const head = el(
    "summary",
    {},
    el("span", { class: `method ${method}` }, method.toUpperCase()),
    " ",
    el("code", { class: "path" }, path),
    " ",
    el("span", { class: "summary" }, inline(op.summary || "")),
    secured ? null : el("span", { class: "open", title: "no credential needed" }, " public"),
  );
  const body = [];
  if (op.description) body.push(markdown(op.description));
  if (op.parameters && op.parameters.length) body.push(el("h4", {}, "Parameters"), parametersTable(op.parameters));
  if (op.requestBody) {
    body.push(el("h4", {}, op.requestBody.required ? "Body (required)" : "Body"), content(op.requestBody));
  }
  body.push(el("h4", {}, "Responses"));
  for (const [status, answer] of Object.entries(op.responses || {})) body.push(response(doc, status, answer));
  const node = el("details", { class: "operation", id }, head, el("div", { class: "body" }, body));
  node.dataset.search = `${method} ${path} ${op.summary || ""} ${(op.tags || []).join(" ")}`.toLowerCase();
  return node;
}

function render(doc) {
  const main = document.getElementById("main");
  const toc = document.getElementById("toc");
  document.getElementById("title").textContent = `${doc.info.title} API ${doc.info.version}`;
  document.title = `${doc.info.title} API`;
  const tags = new Map((doc.tags || []).map((tag) => [tag.name, { tag, operations: [] }]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const name = (item[method].tags || ["other"])[0];
      if (!tags.has(name)) tags.set(name, { tag: { name }, operations: [] });
      tags.get(name).operations.push(operation(doc, path, method, item[method]));
    }
  }
  main.replaceChildren(el("section", { id: "intro" }, markdown(doc.info.description)));
  const list = el("ul");
  for (const { tag, operations } of tags.values()) {
    if (!operations.length) continue;
    const id = `tag-${slug(tag.name)}`;
    list.append(el("li", {}, el("a", { href: `#${id}` }, tag.name), ` (${operations.length})`));
    main.append(el("section", { class: "tag", id }, el("h2", {}, tag.name), tag.description ? el("p", {}, inline(tag.description)) : null, operations));
  }
  list.append(el("li", {}, el("a", { href: "#schemas" }, "Schemas")));
  toc.replaceChildren(list);
  const schemas = Object.entries(doc.components.schemas || {}).map(([name, schema]) =>
    el("section", { class: "component", id: `schema-${slug(name)}` }, el("h3", {}, name), schema.description ? el("p", {}, inline(schema.description)) : null, schemaBlock(schema)),
  );
  main.append(el("section", { id: "schemas" }, el("h2", {}, "Schemas"), schemas));
  reveal();
}

function reveal() {
  const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (!target) return;
  if (target.tagName === "DETAILS") target.open = true;
  target.scrollIntoView();
}

function filter(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  for (const section of document.querySelectorAll("section.tag")) {
    let shown = 0;
    for (const op of section.querySelectorAll("details.operation")) {
      const match = words.every((word) => op.dataset.search.includes(word));
      op.hidden = !match;
      if (match) shown += 1;
    }
    section.hidden = shown === 0;
  }
}

async function main() {
  const input = document.getElementById("filter");
  input.addEventListener("input", () => filter(input.value));
  window.addEventListener("hashchange", reveal);
  try {
    const answer = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    render(await answer.json());
  } catch (error) {
    document.getElementById("main").replaceChildren(el("p", { class: "note" }, `Could not load /openapi.json: ${error.message}`));
  }
}

main();
