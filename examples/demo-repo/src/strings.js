/** Small text helpers used by the shop's pages. */

/** Upper-cases the first character: "hello world" → "Hello world". */
export function capitalize(text) {
  if (text.length === 0) return text;
  return text[0].toUpperCase() + text.slice(1);
}

/** Shortens text to at most `max` characters, ending with "…" when it had to cut. */
export function truncate(text, max) {
  if (!Number.isInteger(max) || max < 1) throw new RangeError('max must be a positive integer');
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1)}…`;
}

/** Counts the words in text, taking any run of whitespace as one separator. */
export function countWords(text) {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}
