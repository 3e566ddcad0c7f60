import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A stand-in for a slow database and a slow pricing service: every call takes `delayMs`, so the difference
 * between a cache hit and a miss shows in the response time.
 *
 * @param {{ delayMs?: number }} [options]
 */
export function createCatalogue({ delayMs = 150 } = {}) {
  /** @type {Map<string, { id: string, name: string, basePrice: number }>} */
  const products = new Map();
  for (const [id, name, basePrice] of [
    ['1', 'Espresso cup', 9.5],
    ['2', 'Moka pot', 34],
    ['3', 'Hand grinder', 59],
    ['4', 'Milk jug', 17.25],
  ]) {
    products.set(id, { id, name, basePrice });
  }

  return {
    /** Every product, in id order. */
    async list() {
      await sleep(delayMs);
      return [...products.values()].map((p) => ({ ...p }));
    },

    /** One product, or undefined. */
    async get(id) {
      await sleep(delayMs);
      const product = products.get(id);
      return product && { ...product };
    },

    /** Applies `changes` (name and/or basePrice) and returns the updated product, or undefined if there is none. */
    async update(id, changes) {
      await sleep(delayMs);
      const product = products.get(id);
      if (!product) return undefined;
      Object.assign(product, changes);
      return { ...product };
    },

    /** The selling price the (slow) pricing service quotes: base price plus 20% tax, rounded to cents. */
    async quote(id) {
      await sleep(delayMs);
      const product = products.get(id);
      if (!product) return undefined;
      return { amount: Math.round(product.basePrice * 120) / 100, currency: 'EUR' };
    },
  };
}
