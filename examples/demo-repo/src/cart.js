/**
 * A shopping cart. Prices are integer cents so that sums are exact, and every function returns a
 * new cart instead of changing the one it was given.
 */

export function createCart() {
  return { lines: [] };
}

/** Adds `quantity` of an item; adding a sku that is already in the cart raises its quantity. */
export function addItem(cart, { sku, priceCents, quantity = 1 }) {
  if (typeof sku !== 'string' || sku === '') throw new TypeError('sku must be a non-empty string');
  if (!Number.isInteger(priceCents) || priceCents < 0) throw new RangeError('priceCents must be a non-negative integer');
  if (!Number.isInteger(quantity) || quantity < 1) throw new RangeError('quantity must be a positive integer');
  if (cart.lines.some((line) => line.sku === sku)) {
    return {
      ...cart,
      lines: cart.lines.map((line) => (line.sku === sku ? { ...line, quantity: line.quantity + quantity } : line)),
    };
  }
  return { ...cart, lines: [...cart.lines, { sku, priceCents, quantity }] };
}

export function removeItem(cart, sku) {
  return { ...cart, lines: cart.lines.filter((line) => line.sku !== sku) };
}

/** Number of items, counting quantities. */
export function itemCount(cart) {
  return cart.lines.reduce((sum, line) => sum + line.quantity, 0);
}

export function subtotalCents(cart) {
  return cart.lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0);
}
