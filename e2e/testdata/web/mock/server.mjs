// A throwaway mock of ipcamd's JSON API (docs/API.md) for developing the web
// page without the Go server: node mock/server.mjs PORT [STATIC_DIR].
// Users admin/admin123 (admin) and viewer/viewer123 (viewer). Pictures come
// from ffmpeg's testsrc2, so ffmpeg must be installed.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const port = Number(process.argv[2] || 8099);
const here = path.dirname(fileURLToPath(import.meta.url));
const staticDir = process.argv[3] || path.join(here, '../../../../web/static');
const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

const users = new Map([['admin', { pw: 'admin123', role: 'admin' }], ['viewer', { pw: 'viewer123', role: 'viewer' }]]);
const sessions = new Map();
const started = Date.now();
let settings = {
  main: { width: 1280, height: 720, fps: 30, bitrate: 2000000, gop: 60 },
  sub: { width: 640, height: 360, fps: 30, bitrate: 500000, gop: 60 },
  day_night: 'auto',
  time: { ntp_servers: ['pool.ntp.org'] },
};
const options = {
  fixed: false,
  main_resolutions: ['1920x1080', '1280x720', '1024x576', '640x360'],
  sub_resolutions: ['640x360', '480x270', '320x180'],
  max_fps: 30, min_bitrate: 64000, max_bitrate: 16000000, min_gop: 1, max_gop: 300,
  day_night_modes: ['auto', 'day', 'night'],
};

// Latest JPEG from ffmpeg.
let frame = null;
const waiters = new Set();
const ff = spawn('ffmpeg', ['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=5',
  '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '6', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
let buf = Buffer.alloc(0);
ff.stdout.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const end = buf.indexOf(Buffer.from([0xff, 0xd9]));
    if (end < 0) break;
    frame = buf.subarray(0, end + 2);
    buf = buf.subarray(end + 2);
    for (const w of waiters) w(frame);
  }
});
process.on('exit', () => ff.kill());
process.on('SIGTERM', () => process.exit(0));

function send(res, code, body, headers = {}) {
  res.writeHead(code, { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer', 'Content-Security-Policy': CSP, ...headers });
  res.end(body);
}
const json = (res, code, v, h) => send(res, code, v === undefined ? '' : JSON.stringify(v), { 'Content-Type': 'application/json', ...h });
const fail = (res, code, error, field, h) => json(res, code, field ? { error, field } : { error }, h);

function cookie(req) {
  const m = /(?:^|;\s*)ipcamd_session=([^;]+)/.exec(req.headers.cookie || '');
  return m && sessions.get(m[1]);
}

function validate(p) {
  for (const k of Object.keys(p)) if (!['main', 'sub', 'day_night', 'time'].includes(k)) return [`unknown field "${k}"`];
  const next = JSON.parse(JSON.stringify(settings));
  for (const k of ['main', 'sub']) {
    if (!p[k]) continue;
    for (const [f, v] of Object.entries(p[k])) {
      if (!['width', 'height', 'fps', 'bitrate', 'gop'].includes(f)) return [`unknown field "${f}"`];
      next[k][f] = v;
    }
    const s = next[k];
    if (!options[k + '_resolutions'].includes(s.width + 'x' + s.height)) return [`${k}.resolution: ${s.width}x${s.height} is not among the available ones`, k + '.width'];
    if (s.bitrate < options.min_bitrate) return [`${k}.bitrate: ${s.bitrate} is below the minimum of ${options.min_bitrate} bit/s`, k + '.bitrate'];
    if (s.bitrate > options.max_bitrate) return [`${k}.bitrate: ${s.bitrate} is above the maximum of ${options.max_bitrate} bit/s`, k + '.bitrate'];
    if (s.fps < 1 || s.fps > options.max_fps) return [`${k}.fps: ${s.fps} is not between 1 and ${options.max_fps}`, k + '.fps'];
    if (s.gop < 1 || s.gop > 300) return [`${k}.gop: ${s.gop} is not between 1 and 300`, k + '.gop'];
  }
  if (next.sub.width >= next.main.width) return [`sub: the sub stream (${next.sub.width}x${next.sub.height}) must be smaller than the main stream (${next.main.width}x${next.main.height})`, 'sub.width'];
  if (p.day_night !== undefined) {
    if (!options.day_night_modes.includes(p.day_night)) return [`day_night: "${p.day_night}" is not auto, day or night`, 'day_night'];
    next.day_night = p.day_night;
  }
  if (p.time) {
    for (const [i, h] of (p.time.ntp_servers || []).entries()) if (!/^[a-z0-9.:-]+$/i.test(h)) return [`time.ntp_servers[${i}]: "${h}" is not a host name or address`, 'time.ntp_servers'];
    next.time.ntp_servers = p.time.ntp_servers;
  }
  return [null, null, next];
}

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };

http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  if (!p.startsWith('/api/v1/')) {
    const f = path.join(staticDir, p === '/' ? 'index.html' : path.normalize(p));
    if (!f.startsWith(staticDir) || !fs.existsSync(f) || fs.statSync(f).isDirectory()) return send(res, 404, 'not found');
    return send(res, 200, fs.readFileSync(f), { 'Content-Type': types[path.extname(f)] || 'application/octet-stream' });
  }
  let body = '';
  for await (const c of req) body += c;
  let data = null;
  if (body) { try { data = JSON.parse(body); } catch { return fail(res, 400, 'malformed JSON'); } }
  const ep = p.slice('/api/v1'.length);
  if (ep === '/login' && req.method === 'POST') {
    const u = data && users.get(data.user);
    if (!u || u.pw !== data.password) return fail(res, 401, 'wrong user name or password');
    const id = crypto.randomBytes(16).toString('hex');
    const s = { user: data.user, role: u.role, csrf: crypto.randomBytes(16).toString('hex'), open: false };
    sessions.set(id, s);
    return json(res, 200, s, { 'Set-Cookie': `ipcamd_session=${id}; HttpOnly; SameSite=Strict; Path=/` });
  }
  const s = cookie(req);
  if (!s) return fail(res, 401, 'not logged in');
  if (req.method !== 'GET' && req.headers['x-csrf-token'] !== s.csrf) return fail(res, 403, 'missing or wrong CSRF token');
  if (req.method !== 'GET' && s.role !== 'admin') return fail(res, 403, 'admins only');
  if (ep === '/logout') { sessions.forEach((v, k) => v === s && sessions.delete(k)); return send(res, 204, '', { 'Set-Cookie': 'ipcamd_session=; Max-Age=0; Path=/' }); }
  if (ep === '/session') return json(res, 200, s);
  if (ep === '/status') {
    const host = req.headers.host.split(':')[0];
    return json(res, 200, {
      version: 'mock', uptime_seconds: (Date.now() - started) / 1000, time: new Date().toISOString(), source: 'testsrc',
      pipeline: 'test pattern → software H.264 encoder', encoder: { fps: 29.9, bitrate: settings.main.bitrate * 0.98, idr_count: 4 },
      streams: ['main', 'sub'].map((k) => ({ name: k, path: '/' + k, ...settings[k], clients: k === 'main' ? 1 : 0,
        urls: [`rtsp://${host}:8554/${k}`, `rtsps://${host}:8322/${k}`] })),
      onvif_url: `http://${req.headers.host}/onvif/device_service`,
      clients: [{ session: 'a1b2', address: '192.168.1.5:50012', path: '/main', transport: 'TCP', srtp: false, playing: true,
        bitrate: 1950000, packets_sent: 12345, bytes_sent: 1234567, frames_dropped: 0, fraction_lost: 0.004, jitter_ms: 1.2 }],
      day_night: { mode: settings.day_night, night: false }, relays: [{ url: 'rtsp://relay:8554/cam1', state: 'publishing' }],
    });
  }
  if (ep === '/settings' && req.method === 'GET') return json(res, 200, { ...settings, options });
  if (ep === '/settings' && req.method === 'PATCH') {
    const [err, field, next] = validate(data || {});
    if (err) return fail(res, 400, err, field);
    settings = next;
    return json(res, 200, { ...settings, options });
  }
  if (ep === '/users' && req.method === 'GET') return json(res, 200, [...users].map(([name, u]) => ({ name, role: u.role })));
  if (ep === '/users' && req.method === 'POST') {
    if (users.has(data.name)) return fail(res, 409, `user "${data.name}" exists`);
    if ((data.password || '').length < 8) return fail(res, 400, 'password: at least 8 characters', 'password');
    users.set(data.name, { pw: data.password, role: data.role });
    return json(res, 201, { name: data.name, role: data.role });
  }
  const um = /^\/users\/(.+)$/.exec(ep);
  if (um) {
    const name = decodeURIComponent(um[1]);
    const u = users.get(name);
    if (!u) return fail(res, 404, `no user "${name}"`);
    const admins = [...users.values()].filter((x) => x.role === 'admin').length;
    if (req.method === 'DELETE') {
      if (u.role === 'admin' && admins === 1) return fail(res, 409, 'cannot remove the last admin');
      users.delete(name);
      return send(res, 204, '');
    }
    if (data.role && data.role !== 'admin' && u.role === 'admin' && admins === 1) return fail(res, 409, 'cannot demote the last admin');
    Object.assign(u, data.password ? { pw: data.password } : {}, data.role ? { role: data.role } : {});
    return json(res, 200, { name, role: u.role });
  }
  if (ep === '/reboot' || ep === '/factory-reset') return json(res, 202, { status: 'restarting' });
  if (ep === '/snapshot') {
    if (!frame) return fail(res, 503, 'no picture yet', undefined, { 'Retry-After': '1' });
    return send(res, 200, frame, { 'Content-Type': 'image/jpeg' });
  }
  if (ep === '/live.mjpeg') {
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=frame', 'Cache-Control': 'no-store' });
    const w = (f) => res.write(Buffer.concat([Buffer.from(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.length}\r\n\r\n`), f, Buffer.from('\r\n')]));
    waiters.add(w);
    req.on('close', () => waiters.delete(w));
    return;
  }
  fail(res, 404, 'no such endpoint');
}).listen(port, '127.0.0.1', () => console.log(`mock ipcamd on http://127.0.0.1:${port}/`));
