/**
 * Returns one shared copy of short strings that recur across entries (header names, content types, route names),
 * so ten thousand cached responses hold one `application/json; charset=utf-8`, not ten thousand. Bounded: once
 * full it stops remembering and hands strings back as they are.
 */
export class Interner {
  readonly #table = new Map<string, string>();
  readonly #maxSize: number;
  readonly #maxLength: number;

  constructor({ maxSize = 4096, maxLength = 128 } = {}) {
    this.#maxSize = maxSize;
    this.#maxLength = maxLength;
  }

  intern(text: string): string {
    if (text.length > this.#maxLength) return text;
    const known = this.#table.get(text);
    if (known !== undefined) return known;
    if (this.#table.size < this.#maxSize) this.#table.set(text, text);
    return text;
  }
}
