// AWS Signature Version 4 in the browser, with WebCrypto's SHA-256 and
// HMAC-SHA256: what the SDKs do, for the requests this console sends
// (POST with a JSON body, no query string). ecsd checks it with
// internal/awsjson/sigv4.go when started with --verify-sigv4.
'use strict';

const SigV4 = (() => {
  const enc = new TextEncoder();

  function hex(buf) {
    return Array.from(new Uint8Array(buf), b => b.toString(16).padStart(2, '0')).join('');
  }

  function subtle() {
    if (!globalThis.crypto || !crypto.subtle) {
      // Browsers offer WebCrypto only to secure contexts: https, or
      // http on localhost/127.0.0.1.
      throw new Error('Signing requests needs WebCrypto, which this browser offers only over https or on localhost.');
    }
    return crypto.subtle;
  }

  async function sha256Hex(text) {
    return hex(await subtle().digest('SHA-256', enc.encode(text)));
  }

  async function hmac(key, text) {
    const k = await subtle().importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await subtle().sign('HMAC', k, enc.encode(text)));
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

  return { sign, amzDate };
})();
