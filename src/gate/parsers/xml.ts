/** An element of a parsed XML document: enough for JUnit and Cobertura reports. */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** Character data directly inside this element (CDATA included), entities decoded. */
  text: string;
}

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[A-Za-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

/**
 * A small, strict-enough XML reader for test and coverage reports (no DTDs, no namespaces): tandem
 * ships no XML dependency for two simple formats. Throws an Error naming the offset on malformed input.
 */
export function parseXml(source: string): XmlElement {
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  let i = 0;
  const top = (): XmlElement => stack[stack.length - 1] ?? root;
  while (i < source.length) {
    const lt = source.indexOf('<', i);
    if (lt === -1) {
      top().text += decodeEntities(source.slice(i));
      break;
    }
    if (lt > i) top().text += decodeEntities(source.slice(i, lt));
    if (source.startsWith('<!--', lt)) {
      i = skipPast(source, '-->', lt);
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = source.indexOf(']]>', lt);
      if (end === -1) throw new Error(`unterminated CDATA at offset ${lt}`);
      top().text += source.slice(lt + 9, end);
      i = end + 3;
    } else if (source.startsWith('<?', lt)) {
      i = skipPast(source, '?>', lt);
    } else if (source.startsWith('<!', lt)) {
      i = skipPast(source, '>', lt);
    } else if (source.startsWith('</', lt)) {
      const end = source.indexOf('>', lt);
      if (end === -1) throw new Error(`unterminated closing tag at offset ${lt}`);
      const name = source.slice(lt + 2, end).trim();
      const open = stack.pop();
      if (open === undefined || open === root || open.name !== name) throw new Error(`unexpected </${name}> at offset ${lt}`);
      i = end + 1;
    } else {
      const { element, selfClosing, end } = readStartTag(source, lt);
      top().children.push(element);
      if (!selfClosing) stack.push(element);
      i = end;
    }
  }
  if (stack.length > 1) throw new Error(`<${top().name}> is never closed`);
  return root;
}

function skipPast(source: string, marker: string, from: number): number {
  const end = source.indexOf(marker, from);
  if (end === -1) throw new Error(`unterminated markup at offset ${from}`);
  return end + marker.length;
}

function readStartTag(source: string, lt: number): { element: XmlElement; selfClosing: boolean; end: number } {
  const nameMatch = /^<([A-Za-z_][\w.:-]*)/.exec(source.slice(lt, lt + 200));
  if (!nameMatch) throw new Error(`malformed tag at offset ${lt}`);
  const attributes: Record<string, string> = {};
  let i = lt + nameMatch[0].length;
  const attribute = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/y;
  for (;;) {
    attribute.lastIndex = i;
    const match = attribute.exec(source);
    if (!match) break;
    attributes[match[1] ?? ''] = decodeEntities(match[3] ?? match[4] ?? '');
    i = attribute.lastIndex;
  }
  const close = /^\s*(\/?)>/.exec(source.slice(i, i + 100));
  if (!close) throw new Error(`malformed tag <${nameMatch[1] ?? ''}> at offset ${lt}`);
  return {
    element: { name: nameMatch[1] ?? '', attributes, children: [], text: '' },
    selfClosing: close[1] === '/',
    end: i + close[0].length,
  };
}

/** Every element named `name` in document order, at any depth. */
export function findAll(element: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const visit = (node: XmlElement): void => {
    for (const child of node.children) {
      if (child.name === name) out.push(child);
      visit(child);
    }
  };
  visit(element);
  return out;
}
