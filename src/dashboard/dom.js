// @ts-check
/**
 * DOM look-ups for the stats dashboard. The parts the script fills carry a `data-testid`, the page's one
 * naming scheme; the markup (page.html) always has them, so a missing one is a bug and throws.
 *
 * Defines `dom`. Uses nothing from the other script files.
 */
const dom = (() => {
  /**
   * The first element under `root` matching `selector`, checked to be a `type`.
   * @template {Element} T
   * @param {ParentNode} root
   * @param {string} selector
   * @param {new (...args: any[]) => T} type
   * @returns {T}
   */
  function find(root, selector, type) {
    const node = root.querySelector(selector);
    if (!(node instanceof type)) throw new Error(`dashboard: no ${type.name} matches ${selector}`);
    return node;
  }

  /**
   * @param {string} id
   * @returns {HTMLElement}
   */
  function byTestId(id) {
    return find(document, `[data-testid="${id}"]`, HTMLElement);
  }

  /**
   * Sets the text of the element with this test id, leaving the DOM alone when it would not change.
   * @param {string} id
   * @param {string} text
   */
  function setText(id, text) {
    const node = byTestId(id);
    if (node.textContent !== text) node.textContent = text;
  }

  /** @param {Node} node */
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  return Object.freeze({ find, byTestId, setText, clear });
})();
