/** A text body big enough for compression to compress (its threshold is 1 KB), the same on every run. */
export const PARAGRAPH = 'The quick brown fox jumps over the lazy dog. '.repeat(90);
