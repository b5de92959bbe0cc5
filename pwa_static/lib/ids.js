// Ids and clocks made on the device.

export function uuid() {
  return crypto.randomUUID();
}

// A hybrid logical clock for audit and display only (the server orders by its own versions).
let last = { wall: 0, count: 0 };
export function hlcNow(node = '') {
  const wall = Date.now();
  last = wall > last.wall ? { wall, count: 0 } : { wall: last.wall, count: last.count + 1 };
  return `${new Date(last.wall).toISOString()}-${String(last.count).padStart(4, '0')}-${node}`;
}

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
