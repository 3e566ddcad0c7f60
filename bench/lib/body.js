// The response body every target serves, in one place so targets and checks agree on it.

/** Pre-serialised JSON body of exactly 1024 bytes. */
export const BODY = makeBody(1024);
export const BODY_BUFFER = Buffer.from(BODY);
export const JSON_TYPE = 'application/json; charset=utf-8';

function makeBody(size) {
  const skeleton = JSON.stringify({ id: 1, name: 'bench item', data: '' });
  return JSON.stringify({ id: 1, name: 'bench item', data: 'x'.repeat(size - skeleton.length) });
}
