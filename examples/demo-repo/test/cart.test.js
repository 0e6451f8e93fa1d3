import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addItem, createCart, itemCount, removeItem, subtotalCents } from '../src/cart.js';

describe('cart', () => {
  it('starts empty', () => {
    const cart = createCart();
    assert.equal(itemCount(cart), 0);
    assert.equal(subtotalCents(cart), 0);
  });

  it('sums prices times quantities', () => {
    let cart = addItem(createCart(), { sku: 'mug', priceCents: 1250, quantity: 2 });
    cart = addItem(cart, { sku: 'tea', priceCents: 499 });
    assert.equal(itemCount(cart), 3);
    assert.equal(subtotalCents(cart), 2999);
  });

  it('merges a sku added twice into one line', () => {
    let cart = addItem(createCart(), { sku: 'mug', priceCents: 1250 });
    cart = addItem(cart, { sku: 'mug', priceCents: 1250, quantity: 3 });
    assert.deepEqual(cart.lines, [{ sku: 'mug', priceCents: 1250, quantity: 4 }]);
  });

  it('does not change the cart it was given', () => {
    const empty = createCart();
    addItem(empty, { sku: 'mug', priceCents: 1250 });
    assert.equal(empty.lines.length, 0);
  });

  it('removes a line', () => {
    let cart = addItem(createCart(), { sku: 'mug', priceCents: 1250 });
    cart = removeItem(cart, 'mug');
    assert.equal(itemCount(cart), 0);
  });

  it('rejects invalid items', () => {
    assert.throws(() => addItem(createCart(), { sku: '', priceCents: 100 }), TypeError);
    assert.throws(() => addItem(createCart(), { sku: 'mug', priceCents: -1 }), RangeError);
    assert.throws(() => addItem(createCart(), { sku: 'mug', priceCents: 100, quantity: 0 }), RangeError);
  });
});
