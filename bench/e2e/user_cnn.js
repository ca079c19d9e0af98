// The CNN half of the pipeline a user would script: ONNX Runtime (CPU, one
// thread) on the log-mel images user_frontend.py wrote, one batch per track
// (all of its segments), as a user embedding tracks one by one would.
//
//   NODE_PATH=DIR/node_modules node user_cnn.js MEL_DIR REPEATS MODEL.onnx...
//
// Times REPEATS passes over all tracks per model (after one untimed pass), in
// process CPU seconds (process.cpuUsage: all threads) and wall seconds, and
// prints one JSON line per model.  The untimed pass writes each track's
// centroid to MEL_DIR/MODEL.centroids.json, to check that both pipelines
// compute the same embeddings.
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const [melDir, repeatsArg, ...models] = process.argv.slice(2);
if (!melDir || !models.length) {
  console.error('usage: node user_cnn.js MEL_DIR REPEATS MODEL.onnx...');
  process.exit(2);
}
const repeats = Number(repeatsArg);
const IMAGE = 128 * 130;
const counts = JSON.parse(fs.readFileSync(path.join(melDir, 'counts.json')));
const raw = fs.readFileSync(path.join(melDir, 'mel.f32'));
const mel = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
if (mel.length !== IMAGE * counts.reduce((a, b) => a + b, 0)) {
  console.error('mel.f32 does not match counts.json');
  process.exit(1);
}

// The track vector of the paper: the L2-normalised mean of its segments' embeddings.
function centroid(emb, n) {
  const dim = emb.length / n;
  const c = new Float64Array(dim);
  for (let i = 0; i < emb.length; i++) c[i % dim] += emb[i];
  const norm = Math.hypot(...c);
  return Array.from(c, (v) => (norm > 0 ? v / norm : 0));
}

// One pass over all tracks; with keep, returns each track's centroid.
async function pass(session, keep) {
  const centroids = [];
  let at = 0;
  for (const n of counts) {
    const x = new ort.Tensor('float32', mel.subarray(at, at + n * IMAGE), [n, 1, 128, 130]);
    const out = await session.run({ [session.inputNames[0]]: x });
    if (keep) centroids.push(centroid(out[session.outputNames[0]].data, n));
    at += n * IMAGE;
  }
  return centroids;
}

(async () => {
  for (const model of models) {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: 1, interOpNumThreads: 1,
      graphOptimizationLevel: 'all', executionMode: 'sequential',
    });
    const centroids = await pass(session, true);
    fs.writeFileSync(path.join(melDir, path.basename(model, '.onnx') + '.centroids.json'),
      JSON.stringify(centroids));
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < repeats; r++) await pass(session);
    const c = process.cpuUsage(c0);
    console.log(JSON.stringify({
      stage: 'onnxruntime-node ' + ort.env.versions.node, model: path.basename(model),
      segments: repeats * counts.reduce((a, b) => a + b, 0),
      cpu_s: +((c.user + c.system) / 1e6).toFixed(3),
      wall_s: +(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3),
    }));
  }
})().catch((e) => { console.error(String(e)); process.exit(1); });
