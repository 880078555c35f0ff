// AWS Signature Version 4 in the browser, with WebCrypto's SHA-256 and
// HMAC-SHA256 (or, outside secure contexts, the SHA-256 below): what the SDKs do, for the requests this console sends
// (POST with a JSON body, no query string). ecsd checks it with
// internal/awsjson/sigv4.go when started with --verify-sigv4.
'use strict';

const SigV4 = (() => {
  const enc = new TextEncoder();

  function hex(buf) {
    return Array.from(new Uint8Array(buf), b => b.toString(16).padStart(2, '0')).join('');
  }

  // Browsers offer WebCrypto only to secure contexts: https, or http on
  // localhost/127.0.0.1. A console reached over plain http on another
  // address signs with the small SHA-256 below instead (FIPS 180-4), so
  // --verify-sigv4 on a LAN address works from any browser.
  const subtle = () => (globalThis.crypto && crypto.subtle) || null;

  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);

  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }

  // sha256 hashes bytes (a Uint8Array) without WebCrypto.
  function sha256(bytes) {
    const len = bytes.length;
    const n = ((len + 9 + 63) >> 6) << 6;
    const m = new Uint8Array(n);
    m.set(bytes);
    m[len] = 0x80;
    const dv = new DataView(m.buffer);
    dv.setUint32(n - 8, Math.floor(len / 0x20000000));
    dv.setUint32(n - 4, (len << 3) >>> 0);
    const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    const W = new Uint32Array(64);
    for (let off = 0; off < n; off += 64) {
      for (let i = 0; i < 16; i++) W[i] = dv.getUint32(off + 4 * i);
      for (let i = 16; i < 64; i++) {
        const x = W[i - 15], y = W[i - 2];
        W[i] = W[i - 16] + (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + W[i - 7] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10));
      }
      let [a, b, c, d, e, f, g, h] = H;
      for (let i = 0; i < 64; i++) {
        const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) >>> 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
        h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
    const out = new Uint8Array(32);
    const ov = new DataView(out.buffer);
    H.forEach((v, i) => ov.setUint32(4 * i, v));
    return out;
  }

  function hmacSHA256(key, data) {
    let k = key.length > 64 ? sha256(key) : key;
    const block = new Uint8Array(64);
    block.set(k);
    const inner = new Uint8Array(64 + data.length);
    const outer = new Uint8Array(64 + 32);
    for (let i = 0; i < 64; i++) { inner[i] = block[i] ^ 0x36; outer[i] = block[i] ^ 0x5c; }
    inner.set(data, 64);
    outer.set(sha256(inner), 64);
    return sha256(outer);
  }

  async function sha256Hex(text) {
    const s = subtle();
    return hex(s ? await s.digest('SHA-256', enc.encode(text)) : sha256(enc.encode(text)));
  }

  async function hmac(key, text) {
    const s = subtle();
    if (!s) return hmacSHA256(key, enc.encode(text));
    const k = await s.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await s.sign('HMAC', k, enc.encode(text)));
  }

  // amzDate is X-Amz-Date's basic ISO-8601 form: 20261207T150405Z.
  function amzDate(now) {
    return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  }

  // sign returns the headers to add to a request: X-Amz-Date, the session
  // token if any, and Authorization. headers holds the request's other
  // headers (names in any case); every one of them is signed, with host.
  async function sign({ method, path, host, headers, body, creds, region, service, now }) {
    const date = amzDate(now || new Date());
    const day = date.slice(0, 8);
    const all = {};
    for (const [k, v] of Object.entries(headers)) all[k.toLowerCase()] = String(v).trim().replace(/ +/g, ' ');
    all['host'] = host;
    all['x-amz-date'] = date;
    if (creds.sessionToken) all['x-amz-security-token'] = creds.sessionToken;
    const names = Object.keys(all).sort();
    const payloadHash = await sha256Hex(body);
    const canonical = [
      method,
      path, // "/" or "/console/logs": nothing to encode
      '', // no query string
      names.map(n => n + ':' + all[n]).join('\n') + '\n',
      names.join(';'),
      payloadHash,
    ].join('\n');
    const scope = `${day}/${region}/${service}/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', date, scope, await sha256Hex(canonical)].join('\n');
    let key = await hmac(enc.encode('AWS4' + creds.secretAccessKey), day);
    key = await hmac(key, region);
    key = await hmac(key, service);
    key = await hmac(key, 'aws4_request');
    const signature = hex(await hmac(key, toSign));
    const out = { 'X-Amz-Date': date };
    if (creds.sessionToken) out['X-Amz-Security-Token'] = creds.sessionToken;
    out['Authorization'] = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return out;
  }

  return { sign, amzDate, sha256Hex, hmacHex: async (key, text) => hex(await hmac(enc.encode(key), text)) };
})();
