"""The annotation page's script and style (plain browser JavaScript, no library, no network).

The page draws the image with the person's detected joints (left side blue, right side red),
a picture of the template with its keypoints numbered (drag to turn it), and the list of
keypoint names. Clicking the image places the current keypoint; as soon as four are placed it
solves the object's pose in the browser (Levenberg-Marquardt on the rotation vector and
translation, started from several orientations; the build's RANSAC-PnP is the one that
counts) and draws the template reprojected, with its mean error in pixels. ``window.hoi``
exposes the state, so tests can read what the page shows.

Keys: ``n`` / right arrow save and go to the next image, ``p`` / left arrow back; ``i`` marks
the current keypoint invisible and skips it; shift+click places a keypoint hidden behind
something; ``1``-``9`` pick a keypoint, ``u`` clears the current one; ``b`` then drag draws the
object box; ``x`` swaps the person's left and right; ``s`` saves (in the file version:
downloads the JSON).
"""

STYLE = """
body { font-family: sans-serif; margin: 0; display: flex; gap: 12px; padding: 8px; background: #fafafa; }
#left { flex: 1; } #right { width: 340px; }
canvas { border: 1px solid #999; background: #fff; }
#names li { cursor: pointer; } #names li.current { font-weight: bold; color: #c00; }
#names li.s0 { color: #999; } #names li.s1 { font-style: italic; }
.bar { margin: 4px 0; font-size: 14px; }
"""

SCRIPT = r"""
const DATA = JSON.parse(document.getElementById('hoi-data').textContent);
const K = DATA.names.length;
const COLORS = ['#e6194b','#3cb44b','#4363d8','#f58231','#911eb4','#42d4f4','#f032e6','#bfef45','#fabed4','#469990',
                '#dcbeff','#9a6324','#800000','#000075'];
const LEFT = [1,3,5,7,9,11,13,15], RIGHT = [2,4,6,8,10,12,14,16];
const FLIP = [0,2,1,4,3,6,5,8,7,10,9,12,11,14,13,16,15];
const BONES = [[5,7],[7,9],[6,8],[8,10],[5,6],[11,12],[5,11],[6,12],[11,13],[13,15],[12,14],[14,16]];
const hoi = { index: 0, current: 0, reprojection: null, pose: null, saved: 0, boxMode: false, record: null,
              errors: [] };
window.hoi = hoi;
const canvas = document.getElementById('image'), ctx = canvas.getContext('2d');
const tcanvas = document.getElementById('template'), tctx = tcanvas.getContext('2d');
let img = new Image(), scale = 1, view = {yaw: 0.6, pitch: 0.4}, drag = null, boxStart = null;

function blankRecord() {
  return {keypoints: Array.from({length: K}, () => [0, 0, 0]), box: null, swap_left_right: false, done: false,
          category: DATA.category, num_keypoints: K};
}
function recordOf(id) {
  const r = DATA.annotations[id];
  if (r && r.keypoints && r.keypoints.length === K) return JSON.parse(JSON.stringify(r));
  return blankRecord();
}
function firstUndone() {
  const i = DATA.images.findIndex(im => !(DATA.annotations[im.id] && DATA.annotations[im.id].done));
  return i < 0 ? DATA.images.length - 1 : i;
}

// --- small linear algebra for the in-page PnP ---
function rodrigues(r) {
  const th = Math.hypot(r[0], r[1], r[2]);
  if (th < 1e-12) return [[1, -r[2], r[1]], [r[2], 1, -r[0]], [-r[1], r[0], 1]];
  const k = r.map(v => v / th), c = Math.cos(th), s = Math.sin(th), C = 1 - c;
  return [[c + k[0]*k[0]*C, k[0]*k[1]*C - k[2]*s, k[0]*k[2]*C + k[1]*s],
          [k[1]*k[0]*C + k[2]*s, c + k[1]*k[1]*C, k[1]*k[2]*C - k[0]*s],
          [k[2]*k[0]*C - k[1]*s, k[2]*k[1]*C + k[0]*s, c + k[2]*k[2]*C]];
}
function project(p, x, Km) {
  const R = rodrigues(x.slice(0, 3));
  const q = [0, 1, 2].map(i => R[i][0]*p[0] + R[i][1]*p[1] + R[i][2]*p[2] + x[3 + i]);
  if (q[2] <= 1e-6) return null;
  return [Km[0][0]*q[0]/q[2] + Km[0][2], Km[1][1]*q[1]/q[2] + Km[1][2]];
}
function residuals(x, pts, pix, Km) {
  const out = [];
  for (let i = 0; i < pts.length; i++) {
    const uv = project(pts[i], x, Km);
    if (!uv) { out.push(1e4, 1e4); continue; }
    out.push(uv[0] - pix[i][0], uv[1] - pix[i][1]);
  }
  return out;
}
function solve(A, b) {
  const n = b.length, M = A.map((row, i) => row.concat([b[i]]));
  for (let c = 0; c < n; c++) {
    let p = c; for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    if (Math.abs(M[c][c]) < 1e-15) return null;
    for (let r = 0; r < n; r++) if (r !== c) { const f = M[r][c] / M[c][c]; for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k]; }
  }
  return M.map((row, i) => row[n] / row[i]);
}
function cost(res) { return res.reduce((a, v) => a + v*v, 0); }
function refine(x, pts, pix, Km) {
  let lambda = 1e-3, res = residuals(x, pts, pix, Km), c = cost(res);
  for (let it = 0; it < 60; it++) {
    const J = [];
    for (let j = 0; j < 6; j++) {
      const h = j < 3 ? 1e-6 : 1e-6 * Math.max(1, Math.abs(x[5]));
      const xp = x.slice(); xp[j] += h;
      const rp = residuals(xp, pts, pix, Km); J.push(rp.map((v, i) => (v - res[i]) / h));
    }
    const A = [...Array(6)].map((_, a) => [...Array(6)].map((_, b) => J[a].reduce((s, v, i) => s + v * J[b][i], 0)));
    const g = [...Array(6)].map((_, a) => -J[a].reduce((s, v, i) => s + v * res[i], 0));
    for (let a = 0; a < 6; a++) A[a][a] *= (1 + lambda);
    const d = solve(A, g); if (!d) break;
    const xn = x.map((v, i) => v + d[i]), rn = residuals(xn, pts, pix, Km), cn = cost(rn);
    if (cn < c) { x = xn; res = rn; lambda = Math.max(lambda / 3, 1e-9); if (c - cn < 1e-10 * c) { c = cn; break; } c = cn; }
    else { lambda *= 5; if (lambda > 1e8) break; }
  }
  return {x: x, cost: c};
}
function spread(a) {
  const m = [0, 1].map(j => a.reduce((s, p) => s + p[j], 0) / a.length);
  return Math.sqrt(a.reduce((s, p) => s + (p[0]-m[0])**2 + (p[1]-m[1])**2, 0) / a.length);
}
function solvePnP(pts, pix, Km) {
  const c3 = [0, 1, 2].map(j => pts.reduce((s, p) => s + p[j], 0) / pts.length);
  const r3 = Math.sqrt(pts.reduce((s, p) => s + (p[0]-c3[0])**2 + (p[1]-c3[1])**2 + (p[2]-c3[2])**2, 0) / pts.length);
  const r2 = Math.max(spread(pix), 1);
  const c2 = [0, 1].map(j => pix.reduce((s, p) => s + p[j], 0) / pix.length);
  const z = Km[0][0] * r3 / r2;
  const t0 = [(c2[0] - Km[0][2]) * z / Km[0][0], (c2[1] - Km[1][2]) * z / Km[1][1], z];
  let best = null;
  const starts = [];
  for (let a = 0; a < 4; a++) for (let b = 0; b < 3; b++) {
    const axis = [[1,0,0],[0,1,0],[0,0,1]][b]; starts.push(axis.map(v => v * a * Math.PI / 2));
  }
  starts.push([Math.PI*0.7, Math.PI*0.7, 0], [0, Math.PI*0.7, Math.PI*0.7], [Math.PI*0.7, 0, Math.PI*0.7]);
  for (const r of starts) {
    const R = rodrigues(r);
    const t = [0, 1, 2].map(i => t0[i] - (R[i][0]*c3[0] + R[i][1]*c3[1] + R[i][2]*c3[2]));
    const out = refine(r.concat(t), pts, pix, Km);
    if (!best || out.cost < best.cost) best = out;
  }
  return best;
}

// --- drawing ---
function draw() {
  const im = DATA.images[hoi.index], rec = hoi.record;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (img.complete && img.naturalWidth) ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  if (im.person) {
    const p = rec.swap_left_right ? FLIP.map(i => im.person[i]) : im.person;
    ctx.lineWidth = 2;
    for (const [a, b] of BONES) if (p[a][2] > 0 && p[b][2] > 0) {
      ctx.strokeStyle = LEFT.includes(a) ? '#36f' : '#f33';
      ctx.beginPath(); ctx.moveTo(p[a][0]*scale, p[a][1]*scale); ctx.lineTo(p[b][0]*scale, p[b][1]*scale); ctx.stroke();
    }
  }
  if (hoi.pose) {
    ctx.fillStyle = 'rgba(0,160,0,0.5)';
    for (const q of DATA.template.points) {
      const uv = project(q, hoi.pose, im.K); if (uv) ctx.fillRect(uv[0]*scale - 1, uv[1]*scale - 1, 2, 2);
    }
    DATA.template.keypoints.forEach((q, i) => { const uv = project(q, hoi.pose, im.K); if (uv) {
      ctx.strokeStyle = COLORS[i % COLORS.length]; ctx.beginPath(); ctx.arc(uv[0]*scale, uv[1]*scale, 7, 0, 7); ctx.stroke(); } });
  }
  rec.keypoints.forEach((k, i) => { if (k[2] > 0) {
    ctx.fillStyle = COLORS[i % COLORS.length]; ctx.beginPath(); ctx.arc(k[0]*scale, k[1]*scale, k[2] === 2 ? 5 : 3, 0, 7); ctx.fill();
    ctx.fillText(String(i + 1), k[0]*scale + 6, k[1]*scale - 6); } });
  if (rec.box) { ctx.strokeStyle = '#fa0'; const b = rec.box.map(v => v * scale); ctx.strokeRect(b[0], b[1], b[2]-b[0], b[3]-b[1]); }
  drawTemplate(); drawNames();
  document.getElementById('status').textContent = `image ${hoi.index + 1}/${DATA.images.length} (${im.id})` +
    (hoi.boxMode ? ' - drag the object box' : '') + (rec.swap_left_right ? ' - left/right swapped' : '');
  const rp = document.getElementById('reproj');
  rp.textContent = hoi.reprojection === null ? 'place 4 keypoints to see the template reprojected'
                                              : `reprojection error ${hoi.reprojection.toFixed(1)} px`;
  rp.dataset.error = hoi.reprojection === null ? '' : String(hoi.reprojection);
}
function drawTemplate() {
  const cy = Math.cos(view.yaw), sy = Math.sin(view.yaw), cp = Math.cos(view.pitch), sp = Math.sin(view.pitch);
  const m = [0, 1, 2].map(j => DATA.template.points.reduce((a, p) => a + p[j], 0) / DATA.template.points.length);
  const rot = p => { const q = [p[0] - m[0], p[1] - m[1], p[2] - m[2]];
    const x = cy*q[0] + sy*q[2], z = -sy*q[0] + cy*q[2]; return [x, cp*q[1] - sp*z]; };
  const s = 0.8 * tcanvas.width / Math.max(DATA.template.diameter, 1e-6), c = tcanvas.width / 2;
  tctx.clearRect(0, 0, tcanvas.width, tcanvas.height); tctx.fillStyle = '#bbb';
  for (const p of DATA.template.points) { const q = rot(p); tctx.fillRect(c + s*q[0] - 1, c - s*q[1] - 1, 2, 2); }
  DATA.template.keypoints.forEach((p, i) => { const q = rot(p); tctx.fillStyle = COLORS[i % COLORS.length];
    tctx.beginPath(); tctx.arc(c + s*q[0], c - s*q[1], i === hoi.current ? 9 : 5, 0, 7); tctx.fill();
    tctx.fillStyle = '#000'; tctx.fillText(String(i + 1), c + s*q[0] + 8, c - s*q[1] - 8); });
}
function drawNames() {
  const ul = document.getElementById('names'); ul.innerHTML = '';
  DATA.names.forEach((n, i) => { const li = document.createElement('li'); const st = hoi.record.keypoints[i][2];
    li.textContent = n + (st === 2 ? ' (placed)' : st === 1 ? ' (hidden)' : '');
    li.className = (i === hoi.current ? 'current ' : '') + 's' + st; li.onclick = () => { hoi.current = i; draw(); };
    ul.appendChild(li); });
}
function updatePose() {
  const im = DATA.images[hoi.index], placed = hoi.record.keypoints.map((k, i) => [k, i]).filter(([k]) => k[2] > 0);
  if (placed.length < 4) { hoi.pose = null; hoi.reprojection = null; return; }
  const pts = placed.map(([, i]) => DATA.template.keypoints[i]), pix = placed.map(([k]) => [k[0], k[1]]);
  const out = solvePnP(pts, pix, im.K);
  hoi.pose = out.x;
  const err = residuals(out.x, pts, pix, im.K);
  let s = 0; for (let i = 0; i < pix.length; i++) s += Math.hypot(err[2*i], err[2*i + 1]);
  hoi.reprojection = s / pix.length;
}
function nextUnplaced(from) {
  for (let j = 1; j <= K; j++) { const i = (from + j) % K; if (hoi.record.keypoints[i][2] === 0) return i; }
  return Math.min(from + 1, K - 1);
}

// --- saving ---
async function save(done) {
  const id = DATA.images[hoi.index].id;
  hoi.record.done = done || hoi.record.done;
  DATA.annotations[id] = JSON.parse(JSON.stringify(hoi.record));
  if (DATA.mode === 'server') {
    const r = await fetch('/save', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                    body: JSON.stringify({image_id: id, record: DATA.annotations[id]})});
    const reply = await r.json();
    if (!reply.ok) { hoi.errors.push(reply.error); document.getElementById('status').textContent = reply.error; return false; }
  } else {
    localStorage.setItem(DATA.storage_key, JSON.stringify(DATA.annotations));
  }
  hoi.saved += 1;
  return true;
}
function documentJSON() {
  return JSON.stringify({format: 'hoirecon-annotations', version: 1, category: DATA.category, keypoint_names: DATA.names,
                         images: DATA.annotations}, null, 1);
}
function download() {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([documentJSON()], {type: 'application/json'}));
  a.download = DATA.file_name; document.body.appendChild(a); a.click(); a.remove();
}
function show(index) {
  hoi.index = Math.max(0, Math.min(index, DATA.images.length - 1));
  const im = DATA.images[hoi.index];
  hoi.record = recordOf(im.id); hoi.current = hoi.record.keypoints.findIndex(k => k[2] === 0);
  if (hoi.current < 0) hoi.current = 0;
  scale = Math.min(900 / im.width, 700 / im.height, 4); hoi.scale = scale;
  canvas.width = Math.round(im.width * scale); canvas.height = Math.round(im.height * scale);
  updatePose();
  img = new Image(); img.onload = draw; img.src = im.src; draw();
}

// --- events ---
function pixelOf(ev) { const r = canvas.getBoundingClientRect(); return [(ev.clientX - r.left) / scale, (ev.clientY - r.top) / scale]; }
canvas.addEventListener('mousedown', ev => { if (hoi.boxMode) boxStart = pixelOf(ev); });
canvas.addEventListener('mouseup', ev => {
  const p = pixelOf(ev);
  if (hoi.boxMode && boxStart) {
    const b = [Math.min(boxStart[0], p[0]), Math.min(boxStart[1], p[1]), Math.max(boxStart[0], p[0]), Math.max(boxStart[1], p[1])];
    if (b[2] - b[0] > 1 && b[3] - b[1] > 1) hoi.record.box = b;
    hoi.boxMode = false; boxStart = null; draw(); return;
  }
  hoi.record.keypoints[hoi.current] = [p[0], p[1], ev.shiftKey ? 1 : 2];
  hoi.current = nextUnplaced(hoi.current); updatePose(); draw();
});
tcanvas.addEventListener('mousedown', ev => { drag = [ev.clientX, ev.clientY]; });
window.addEventListener('mouseup', () => { drag = null; });
tcanvas.addEventListener('mousemove', ev => { if (!drag) return;
  view.yaw += (ev.clientX - drag[0]) * 0.01; view.pitch += (ev.clientY - drag[1]) * 0.01;
  drag = [ev.clientX, ev.clientY]; drawTemplate(); });
window.addEventListener('keydown', async ev => {
  const key = ev.key;
  if (key === 'n' || key === 'ArrowRight') { if (await save(true)) show(hoi.index + 1); }
  else if (key === 'p' || key === 'ArrowLeft') { await save(false); show(hoi.index - 1); }
  else if (key === 'i') { hoi.record.keypoints[hoi.current] = [0, 0, 0]; hoi.current = (hoi.current + 1) % K; updatePose(); draw(); }
  else if (key === 'u' || key === 'Backspace') { hoi.record.keypoints[hoi.current] = [0, 0, 0]; updatePose(); draw(); }
  else if (key === 'b') { hoi.boxMode = true; draw(); }
  else if (key === 'x') { hoi.record.swap_left_right = !hoi.record.swap_left_right; draw(); }
  else if (key === 's') { await save(false); if (DATA.mode !== 'server') download(); }
  else if (/^[1-9]$/.test(key) && Number(key) <= K) { hoi.current = Number(key) - 1; draw(); }
});
document.getElementById('download').onclick = download;
if (DATA.mode !== 'server') {
  const kept = localStorage.getItem(DATA.storage_key);
  if (kept) Object.assign(DATA.annotations, JSON.parse(kept));
} else { document.getElementById('download').style.display = 'none'; }
show(firstUndone());
document.body.dataset.ready = '1';
"""
